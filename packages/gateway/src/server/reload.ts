/**
 * Configuration reload: load and validate the new file first, then swap the route table atomically.
 * An invalid file (or a route whose guard cannot be built) leaves the running configuration in force
 * and is logged with every problem's file, line and key path.
 */
import type { Logger } from 'pino';
import { ConfigError } from '../config/errors.js';
import { loadConfigFile, type LoadConfigOptions } from '../config/loader.js';
import type { Gateway } from './server.js';

/** Options of `reloadConfig` and `installSighupReload`. */
export interface ReloadOptions {
  /** The gateway to reconfigure. */
  readonly gateway: Gateway;
  /** Configuration file to read. */
  readonly configPath: string;
  /** Where outcomes are logged. */
  readonly logger: Logger;
  /** Loader options (environment for `${ENV}`). */
  readonly load?: LoadConfigOptions;
}

/**
 * Reloads the configuration file into the gateway. Resolves `true` when the new configuration is in
 * force, `false` when it was refused (the old one stays); never rejects.
 *
 * @example
 * ```ts
 * if (!(await reloadConfig({ gateway, configPath: 'gateway.yaml', logger }))) alert();
 * ```
 */
export async function reloadConfig(options: ReloadOptions): Promise<boolean> {
  const { gateway, logger } = options;
  try {
    const { config } = await loadConfigFile(options.configPath, options.load);
    await gateway.reload(config);
    gateway.metrics.countReload('ok');
    return true;
  } catch (error) {
    gateway.metrics.countReload('error');
    if (error instanceof ConfigError)
      logger.error(
        { code: error.code, problems: error.message.split('\n') },
        'configuration reload refused; keeping the running configuration',
      );
    else
      logger.error(
        {
          err: {
            name: (error as Error).name,
            message: String((error as Error).message).slice(0, 500),
          },
        },
        'configuration reload failed; keeping the running configuration',
      );
    return false;
  }
}

/**
 * Reloads on `SIGHUP` (reloads never overlap: a signal during a reload queues one more). Returns a
 * function that removes the handler.
 */
export function installSighupReload(options: ReloadOptions): () => void {
  let running: Promise<boolean> | undefined;
  let again = false;
  const run = (): void => {
    if (running) {
      again = true;
      return;
    }
    options.logger.info('SIGHUP: reloading configuration');
    running = reloadConfig(options).finally(() => {
      running = undefined;
      if (again) {
        again = false;
        run();
      }
    });
  };
  process.on('SIGHUP', run);
  return () => {
    process.off('SIGHUP', run);
  };
}
