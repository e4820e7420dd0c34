// Quiet SDK logs in tests (errors still show), once per test file; tests may tee the lines
// (test/log-capture.ts).
import { Runtime } from '@temporalio/worker';
import { runtimeLogger } from './log-capture';

try {
  Runtime.install({ logger: runtimeLogger });
} catch {
  // Already installed in this module registry.
}
