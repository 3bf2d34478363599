// Loads oidc-provider once. On import it warns that Node.js 20 is an "Unsupported runtime"
// (upstream tests only Node 22+); every flow this package uses is tested on Node 20 here, so that
// one known line is filtered from the console while the module loads. Other warnings pass through.
import type * as OidcProviderModule from 'oidc-provider';

let loading: Promise<typeof OidcProviderModule> | undefined;

/** The oidc-provider module, imported with its Node-version warning filtered out. */
export function loadOidcProvider(): Promise<typeof OidcProviderModule> {
  loading ??= (async () => {
    const warn = console.warn;
    console.warn = (...args: unknown[]) => {
      if (typeof args[0] === 'string' && args[0].includes('Unsupported runtime')) return;
      warn(...args);
    };
    try {
      return await import('oidc-provider');
    } finally {
      console.warn = warn;
    }
  })();
  return loading;
}
