/**
 * The plug-in interface of the benchmark: every row (direct, bare proxy, gateway, Apache,
 * HAProxy …) is a {@link BenchRow}. The harness gives each row a {@link BenchContext}, starts it,
 * sends it the correctness tokens, loads it, and stops it.
 */
import type { FixtureIssuer } from '../fixtures/issuer.js';
import type { ManagedProcess } from '../processes.js';
import type { TokenKind } from '../tokens.js';

/** What a row gets from the harness. */
export interface BenchContext {
  /** The test fixture issuer: its URL (`iss`), JWKS and metadata URLs, keys, and token minting. */
  readonly issuer: FixtureIssuer;
  /** The shared fixed-answer upstream's MCP endpoint, e.g. `http://127.0.0.1:40123/mcp`. */
  readonly upstreamUrl: string;
  /** The shared audience valid tokens carry (rows may mint with their own, see `issuer.mint`). */
  readonly audience: string;
  /** The MCP tool every request calls, and the scope that call needs. */
  readonly toolName: string;
  readonly requiredScope: string;
  /** The MCP path every row serves (`/mcp`). */
  readonly mcpPath: string;
  /** A temp dir of this row's own (config files, logs); removed after the run. */
  readonly tempDir: string;
  /** CPU list (taskset syntax) the server under test must run on, or null when not pinning. */
  readonly serverCpus: string | null;
  /**
   * Extra `node` flags for the row's Node server processes, before the script (e.g.
   * `--cpu-prof --cpu-prof-dir DIR/<row>` under `--cpu-prof`); empty normally. Rows that run
   * another program ignore it.
   */
  readonly nodeArgs: readonly string[];
  /** Root of the repository (for `packages/cli/dist/main.js`). */
  readonly repoRoot: string;
  /**
   * Starts a child process pinned to {@link serverCpus}, in its own process group, with output
   * in `tempDir/<name>.log`; the harness stops it on exit, error and Ctrl-C even if the row
   * does not. With `readPort` it waits for a first stdout line `{"port":N}`.
   */
  spawnServer(
    name: string,
    command: string,
    args: readonly string[],
    options?: { env?: NodeJS.ProcessEnv; readPort?: boolean },
  ): Promise<{ process: ManagedProcess; port: number | null }>;
  /** A free port on 127.0.0.1. */
  freePort(): Promise<number>;
  /** Waits until 127.0.0.1:`port` accepts connections (fails if `proc` exits first). */
  waitForPort(port: number, proc: ManagedProcess): Promise<void>;
  /** Progress output. */
  log(message: string): void;
}

/** Whether a row can run on this machine. */
export type Availability =
  | { readonly available: true }
  | {
      readonly available: false;
      /** Why not, in one sentence (shown in the tables). */
      readonly reason: string;
      /** A command that would make it available, e.g. an `apt-get install` line. */
      readonly install?: string;
    };

/** A started row. */
export interface RunningRow {
  /** The URL the load generator and the correctness check POST to. */
  readonly url: string;
  /**
   * The processes whose CPU time counts as this row's (the proxy itself, not the shared
   * upstream); their descendants (workers) are added by the harness.
   */
  pids(): number[];
  /** Stops the row (its processes are also stopped by the harness at exit). */
  stop(): Promise<void>;
}

/** One row of the benchmark. */
export interface BenchRow {
  /** Stable id, used by `--rows` and in the JSON (e.g. `bare-proxy`). */
  readonly id: string;
  /** Short title for the tables. */
  readonly title: string;
  /** One sentence: what this row is. */
  readonly description: string;
  /** Checks binaries, modules or packages; never installs anything. */
  availability(ctx: BenchContext): Promise<Availability>;
  /** Starts the row's processes and returns once it serves requests. */
  start(ctx: BenchContext): Promise<RunningRow>;
  /**
   * The token of `kind` for this row (JWT or opaque), or null when the kind has no meaning for
   * it (e.g. `alg-none` for an opaque token). Called after {@link start}.
   */
  token(kind: TokenKind, ctx: BenchContext): Promise<string | null>;
  /**
   * Tokens the load generator cycles through during one round; default: one valid token for the
   * whole round. A row measuring uncached verification returns many distinct tokens (one per
   * request as far as `expectedRequests` goes).
   */
  loadTokens?(ctx: BenchContext, expectedRequests: number): Promise<string[]>;
}
