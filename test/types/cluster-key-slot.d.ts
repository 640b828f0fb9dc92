/** cluster-key-slot (ioredis's own slot function) ships no types: the Redis Cluster slot (0–16383) of a key. */
declare module 'cluster-key-slot' {
  function calculateSlot(key: string | Buffer): number;
  export default calculateSlot;
}
