/**
 * Runs the Replicate fake in its own process for benchmarks, so the process being measured spends no CPU on the
 * fake's side of the HTTP calls. Prints `{"baseUrl","token"}` on its first line; exits when its parent does.
 */
import { ReplicateFake } from '../test/fakes/replicate-fake.js';

const fake = await ReplicateFake.start({ latencyMs: Number(process.argv[2] ?? 0) });
process.stdout.write(`${JSON.stringify({ baseUrl: fake.baseUrl, token: fake.token })}\n`);
process.on('disconnect', () => process.exit(0));
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
