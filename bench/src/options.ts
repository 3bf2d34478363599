/**
 * Command-line options of `npm run bench` (passed after `--`, e.g. `npm run bench -- --quick`).
 */

/** Parsed options; defaults in {@link DEFAULT_OPTIONS}. */
export interface BenchOptions {
  /** Seconds per round per row (integer; wrk counts in whole seconds). */
  readonly durationS: number;
  /** Rounds; rows are interleaved within a round (A B C … A B C …) and medians reported. */
  readonly rounds: number;
  /** Concurrent connections of the load generator. */
  readonly connections: number;
  /** Row ids to run, or null for all. */
  readonly rows: readonly string[] | null;
  /** Load generator: wrk when installed, else autocannon; or forced. */
  readonly loadgen: 'auto' | 'wrk' | 'autocannon';
  /** Run the core and audit micro-benchmarks too. */
  readonly micro: boolean;
  /** Keep the temp dir (configs, logs) after the run. */
  readonly keepTemp: boolean;
  /** Print usage and exit. */
  readonly help: boolean;
}

/** Default options: 5 s rounds, 3 rounds, 32 connections, every row, micro-benchmarks on. */
export const DEFAULT_OPTIONS: BenchOptions = {
  durationS: 5,
  rounds: 3,
  connections: 32,
  rows: null,
  loadgen: 'auto',
  micro: true,
  keepTemp: false,
  help: false,
};

/** Usage text (also in bench/README.md). */
export const USAGE = `usage: npm run bench -- [options]
  --duration S       seconds per round per row (default 5)
  --rounds N         rounds, rows interleaved, medians reported (default 3)
  --connections C    concurrent connections (default 32)
  --rows a,b,c       only these rows: direct, bare-proxy, gateway, gateway-uncached,
                     gateway-opaque, apache, haproxy (default all)
  --quick            1 s rounds, 1 round (checks the harness; figures are rough)
  --loadgen NAME     wrk | autocannon (default: wrk when installed, else autocannon)
  --no-micro         skip the core and audit micro-benchmarks
  --keep-temp        keep the temp dir with generated configs and logs
  --help             this text`;

function positiveInteger(name: string, value: string | undefined): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} needs a positive integer`);
  return n;
}

/**
 * Parses argv (without node and script). `--quick` sets duration 1 and rounds 1; an explicit
 * `--duration` or `--rounds` wins over it whatever the order.
 */
export function parseOptions(argv: readonly string[]): BenchOptions {
  const explicit: { -readonly [K in keyof BenchOptions]?: BenchOptions[K] } = {};
  let quick = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const [flag, inline] = arg.includes('=') ? arg.split(/=(.*)/s, 2) : [arg, undefined];
    const value = (): string | undefined => inline ?? argv[++i];
    switch (flag) {
      case '--duration':
        explicit.durationS = positiveInteger('--duration', value());
        break;
      case '--rounds':
        explicit.rounds = positiveInteger('--rounds', value());
        break;
      case '--connections':
        explicit.connections = positiveInteger('--connections', value());
        break;
      case '--rows': {
        const ids = (value() ?? '')
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean);
        if (ids.length === 0) throw new Error('--rows needs a comma-separated list of row ids');
        explicit.rows = ids;
        break;
      }
      case '--quick':
        quick = true;
        break;
      case '--loadgen': {
        const name = value();
        if (name !== 'wrk' && name !== 'autocannon' && name !== 'auto') {
          throw new Error('--loadgen is wrk, autocannon or auto');
        }
        explicit.loadgen = name;
        break;
      }
      case '--no-micro':
        explicit.micro = false;
        break;
      case '--keep-temp':
        explicit.keepTemp = true;
        break;
      case '--help':
      case '-h':
        explicit.help = true;
        break;
      default:
        throw new Error(`unknown option ${arg}\n${USAGE}`);
    }
  }
  return {
    ...DEFAULT_OPTIONS,
    ...(quick ? { durationS: 1, rounds: 1 } : {}),
    ...explicit,
  };
}
