/** What a result was measured on (BENCHMARKING.md rule 13): machine, runtimes, versions, commit. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';

export interface Environment {
  readonly cpu_model: string;
  readonly cores: number;
  readonly memory_gb: number;
  readonly os: string;
  readonly node_version: string;
  readonly python_version: string | null;
  readonly pitlane_version: string;
  readonly git_commit: string | null;
  readonly date: string;
}

function tryRun(cmd: string, args: string[], cwd?: string): string | null {
  try {
    return execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  } catch {
    return null;
  }
}

export function captureEnvironment(options: { python?: string; repoDir: string }): Environment {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  const py =
    options.python !== undefined
      ? tryRun(options.python, ['-c', 'import platform; print(platform.python_version())'])
      : null;
  return {
    cpu_model: os.cpus()[0]?.model ?? 'unknown',
    cores: os.availableParallelism(),
    memory_gb: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node_version: process.versions.node,
    python_version: py,
    pitlane_version: pkg.version,
    git_commit: tryRun('git', ['rev-parse', '--short', 'HEAD'], options.repoDir),
    date: new Date().toISOString(),
  };
}
