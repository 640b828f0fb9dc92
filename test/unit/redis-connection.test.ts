import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, redisTarget } from '../../src/config.js';
import { describeRedisTarget, parseRedisNodes } from '../../src/core/redis-connection.js';
import { mayStartPrivateRedis, missingRedisMessage } from '../../src/redis-check.js';

describe('REDIS_CLUSTER_NODES', () => {
  it('parses host:port lists: names, IPv4, bracketed IPv6, spaces and empty entries', () => {
    expect(parseRedisNodes(' redis-a.internal:7000, 10.0.0.5:6379,,[::1]:7001 ')).toEqual([
      { host: 'redis-a.internal', port: 7000 },
      { host: '10.0.0.5', port: 6379 },
      { host: '::1', port: 7001 },
    ]);
  });

  it('refuses what is not host:port, naming the entry', () => {
    for (const bad of ['10.0.0.5', '10.0.0.5:0', '10.0.0.5:65536', 'redis://10.0.0.5:6379', ':6379', 'a b:1', '::1:7000']) {
      expect(() => parseRedisNodes(`10.0.0.6:6379,${bad}`), bad).toThrow(`"${bad}" is not host:port (e.g. 10.0.0.5:6379)`);
    }
    expect(() => parseRedisNodes(' , ')).toThrow('must list at least one node as host:port');
  });

  it('is a setting: a bad one stops the start naming it; a good one makes the target a cluster with the credentials', () => {
    try {
      loadConfig({ REDIS_CLUSTER_NODES: '127.0.0.1:7000,nope' });
      expect.unreachable();
    } catch (err) {
      expect((err as ConfigError).problems).toEqual(['REDIS_CLUSTER_NODES: "nope" is not host:port (e.g. 10.0.0.5:6379)']);
    }
    expect(() => loadConfig({ REDIS_TLS: 'maybe' })).toThrow(/REDIS_TLS: must be true or false/);
    const target = redisTarget(loadConfig({ REDIS_CLUSTER_NODES: '127.0.0.1:7000,127.0.0.1:7001', REDIS_PASSWORD: 'pw', REDIS_TLS: 'true' }));
    expect(target).toMatchObject({ clusterNodes: [{ host: '127.0.0.1', port: 7000 }, { host: '127.0.0.1', port: 7001 }], password: 'pw', tls: true });
    expect(describeRedisTarget(target)).toBe('cluster 127.0.0.1:7000,127.0.0.1:7001');
    expect(redisTarget(loadConfig({})).clusterNodes).toBeUndefined();
  });

  it('never starts a private redis-server for a cluster, nor with a password or TLS set', () => {
    const playground = { REDIS_URL: 'redis://127.0.0.1:6379' };
    expect(mayStartPrivateRedis(playground)).toBe(true);
    expect(mayStartPrivateRedis({ ...playground, REDIS_CLUSTER_NODES: [{ host: '127.0.0.1', port: 7000 }] })).toBe(false);
    expect(mayStartPrivateRedis({ ...playground, REDIS_PASSWORD: 'pw' })).toBe(false);
    expect(mayStartPrivateRedis({ ...playground, REDIS_TLS: true })).toBe(false);
  });

  it('the missing-Redis line names the setting in use and never a password', () => {
    expect(missingRedisMessage({ url: 'redis://:hunter2@h:6379', clusterNodes: [{ host: 'h', port: 7000 }], password: 'hunter2' }, 'no node answered')).toBe(
      'fluxbot: no Redis Cluster answered at h:7000 (REDIS_CLUSTER_NODES; no node answered): check that the nodes run and form one cluster (redis-cli --cluster check host:port), or unset REDIS_CLUSTER_NODES to use the single Redis at REDIS_URL.',
    );
    expect(missingRedisMessage('redis://:hunter2@h:6379', 'no answer')).toMatch(/^fluxbot: no Redis at redis:\/\/:\*\*\*@h:6379 \(REDIS_URL; no answer\)/);
  });
});
