/**
 * Ephemeral ports for the end-to-end stacks: a port is reserved by listening on 127.0.0.1:0,
 * reading the port the system chose, and closing again, so that URLs containing it can be handed
 * to the IdP's fixtures before the server that will use it starts.
 */
import { createServer } from 'node:net';

/** A port that was free on 127.0.0.1 a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        server.close();
        reject(new Error('no port assigned'));
        return;
      }
      server.close(() => resolve(address.port));
    });
  });
}
