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
  /**
   * Fixed total request rates (req/s) at which to measure latency with the paced generator,
   * after the saturation rounds; empty to skip. Default: 2 000 (the gateway's p99 target).
   */
  readonly rates: readonly number[];
  /**
   * Row ids that get the fixed-rate measurement (among the selected rows), or null for every
   * selected row. Default: direct, bare-proxy and gateway; an explicit `--rate` means every
   * selected row unless `--rate-rows` says otherwise.
   */
  readonly rateRows: readonly string[] | null;
  /**
   * Directory for CPU profiles of the Node server rows (`node --cpu-prof --cpu-prof-dir
   * DIR/<row>`), or null for no profiling.
   */
  readonly cpuProfDir: string | null;
  /** Print usage and exit. */
  readonly help: boolean;
}

/** Rows that get the 2 000 req/s latency measurement in a default run. */
export const DEFAULT_RATE_ROWS: readonly string[] = ['direct', 'bare-proxy', 'gateway'];

/** Default options: 5 s rounds, 3 rounds, 32 connections, every row, micro-benchmarks on. */
export const DEFAULT_OPTIONS: BenchOptions = {
  durationS: 5,
  rounds: 3,
  connections: 32,
  rows: null,
  loadgen: 'auto',
  micro: true,
  keepTemp: false,
  rates: [2000],
  rateRows: DEFAULT_RATE_ROWS,
  cpuProfDir: null,
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
  --rate R[,R2…]     also measure latency at these fixed total rates (req/s), open loop,
                     on every selected row (default: 2000 on direct, bare-proxy, gateway)
  --rate-rows a,b    only these rows get the fixed-rate measurement
  --no-rate          skip the fixed-rate measurement
  --cpu-prof DIR     run the Node server rows under node --cpu-prof, profiles in DIR/<row>
  --no-micro         skip the core and audit micro-benchmarks
  --keep-temp        keep the temp dir with generated configs and logs
  --help             this text`;

/** A comma-separated list of row ids (at least one). */
function idList(name: string, value: string | undefined): string[] {
  const ids = (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (ids.length === 0) throw new Error(`${name} needs a comma-separated list of row ids`);
  return ids;
}

/** Highest fixed rate accepted (the generator keeps one record per request in memory). */
export const MAX_RATE = 100_000;

/** A comma-separated list of distinct positive integer rates, e.g. `2000,5000`, in the given order. */
function rateList(value: string | undefined): number[] {
  const parts = (value ?? '').split(',').map((s) => s.trim());
  if (parts.length === 0 || parts.some((p) => !/^[1-9][0-9]*$/.test(p))) {
    throw new Error('--rate needs positive whole requests per second, e.g. --rate 2000,5000');
  }
  const rates = parts.map(Number);
  if (rates.some((r) => r > MAX_RATE)) throw new Error(`--rate is at most ${MAX_RATE} req/s`);
  if (new Set(rates).size !== rates.length) throw new Error('--rate lists a rate twice');
  return rates;
}

function positiveInteger(name: string, value: string | undefined): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} needs a positive integer`);
  return n;
}

/**
 * Parses argv (without node and script). `--quick` sets duration 1 and rounds 1; an explicit
 * `--duration` or `--rounds` wins over it whatever the order. The fixed-rate measurement runs at
 * 2 000 req/s on direct, bare-proxy and gateway by default; `--rate` replaces the rates and
 * applies them to every selected row, `--rate-rows` picks the rows, `--no-rate` skips it.
 */
export function parseOptions(argv: readonly string[]): BenchOptions {
  const explicit: { -readonly [K in keyof BenchOptions]?: BenchOptions[K] } = {};
  let quick = false;
  let noRate = false;
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
      case '--rows':
        explicit.rows = idList('--rows', value());
        break;
      case '--rate':
        explicit.rates = rateList(value());
        break;
      case '--rate-rows':
        explicit.rateRows = idList('--rate-rows', value());
        break;
      case '--no-rate':
        noRate = true;
        break;
      case '--cpu-prof': {
        const dir = value();
        if (!dir || dir.startsWith('--')) throw new Error('--cpu-prof needs a directory');
        explicit.cpuProfDir = dir;
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
  if (noRate && explicit.rates) throw new Error('--no-rate and --rate contradict each other');
  return {
    ...DEFAULT_OPTIONS,
    ...(quick ? { durationS: 1, rounds: 1 } : {}),
    // An explicit --rate measures every selected row (unless --rate-rows narrows it).
    ...(explicit.rates ? { rateRows: null } : {}),
    ...(noRate ? { rates: [] } : {}),
    ...explicit,
  };
}
