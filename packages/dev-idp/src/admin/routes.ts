// Development-only admin endpoints, reachable from loopback only: disable or enable a user and
// rotate the signing keys. They exist so tests and the demo can show how resource servers react to
// lifecycle events (a user leaves, keys roll) without restarting the IdP.
import type { IncomingMessage, ServerResponse } from 'node:http';

import type { RotationMode } from '../provider/keys.js';

/** The operations the admin endpoints drive (implemented by the running IdP). */
export interface AdminOperations {
  setUserDisabled(id: string, disabled: boolean): boolean;
  rotateKeys(mode: RotationMode): Promise<unknown>;
  keyState(): unknown;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1']);
const ROTATION_MODES = new Set<string>(['prepublish', 'activate', 'immediate']);

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}

/**
 * Handles `/admin/*`: `POST /admin/users/:id/disable|enable`,
 * `POST /admin/keys/rotate?mode=prepublish|activate|immediate`, `GET /admin/keys`.
 */
export async function handleAdmin(
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  ops: AdminOperations,
): Promise<void> {
  if (!LOOPBACK.has(req.socket.remoteAddress ?? '')) {
    return json(res, 403, { error: 'forbidden', error_description: 'admin is loopback only' });
  }
  // A web page cannot reach these through DNS rebinding or a cross-site form: the Host must be a
  // loopback name and any Origin must be the IdP itself.
  const host = req.headers.host ?? '';
  const origin = req.headers.origin;
  if (
    !/^(127\.0\.0\.1|localhost|\[::1\])(:\d+)?$/.test(host) ||
    (origin && origin !== url.origin)
  ) {
    return json(res, 403, { error: 'forbidden', error_description: 'admin is loopback only' });
  }
  const method = req.method ?? 'GET';
  const user = /^\/admin\/users\/([^/]+)\/(disable|enable)$/.exec(url.pathname);
  if (user && method === 'POST') {
    const id = decodeURIComponent(user[1] as string);
    const disabled = user[2] === 'disable';
    if (!ops.setUserDisabled(id, disabled)) {
      return json(res, 404, { error: 'not_found', error_description: 'unknown user' });
    }
    return json(res, 200, { user: id, disabled });
  }
  if (url.pathname === '/admin/keys/rotate' && method === 'POST') {
    const mode = url.searchParams.get('mode') ?? 'prepublish';
    if (!ROTATION_MODES.has(mode)) {
      return json(res, 400, {
        error: 'invalid_request',
        error_description: 'mode must be prepublish, activate or immediate',
      });
    }
    return json(res, 200, await ops.rotateKeys(mode as RotationMode));
  }
  if (url.pathname === '/admin/keys' && method === 'GET') return json(res, 200, ops.keyState());
  return json(res, 404, { error: 'not_found' });
}
