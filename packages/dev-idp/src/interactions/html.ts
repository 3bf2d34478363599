// Server-rendered HTML for the login, one-time-code and consent steps. Plain forms, no scripts, no
// external assets; every interpolated value is escaped.

const HTML_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Escapes a string for HTML text and double-quoted attribute values. */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c] ?? c);
}

const STYLE = `body{font-family:system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem}
.dev{background:#fde68a;border:1px solid #b45309;padding:.5rem;font-weight:bold}
label{display:block;margin:.75rem 0 .25rem}input{width:100%;padding:.4rem;box-sizing:border-box}
button{margin-top:1rem;padding:.5rem 1rem}.error{color:#b91c1c}`;

function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${escapeHtml(title)}</title><style>${STYLE}</style></head><body><p class="dev">mcp-iam development IdP: not for production use</p><h1>${escapeHtml(title)}</h1>${body}</body></html>`;
}

/** What the login page shows. */
export interface LoginPageInput {
  uid: string;
  clientId: string;
  /** Prefilled user name (login_hint or the current session's user). */
  username?: string;
  /** Whether a one-time code is required (MFA requested or re-authentication of an enrolled user). */
  otpRequired: boolean;
  error?: string;
}

/** The login form: user name, password, and the one-time code when MFA is required. */
export function loginPage(input: LoginPageInput): string {
  const uid = escapeHtml(input.uid);
  const otp = input.otpRequired
    ? `<label for="otp">One-time code (authenticator app)</label><input id="otp" name="otp" inputmode="numeric" autocomplete="one-time-code" required>`
    : '';
  const error = input.error
    ? `<p class="error" role="alert" data-error="${escapeHtml(input.error)}">${escapeHtml(input.error)}</p>`
    : '';
  return page(
    'Sign in',
    `<p>to continue to <strong>${escapeHtml(input.clientId)}</strong></p>${error}
<form method="post" action="/interaction/${uid}/login" data-step="login" data-otp-required="${input.otpRequired}">
<label for="username">User name</label><input id="username" name="username" autocomplete="username" required value="${escapeHtml(input.username ?? '')}">
<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required>
${otp}<button type="submit">Sign in</button></form>
<form method="post" action="/interaction/${uid}/abort"><button type="submit">Cancel</button></form>`,
  );
}

/** What the consent page shows. */
export interface ConsentPageInput {
  uid: string;
  clientId: string;
  scopes: string[];
  resources: string[];
}

/** The consent form: which client asks for which scopes at which resources. */
export function consentPage(input: ConsentPageInput): string {
  const uid = escapeHtml(input.uid);
  const list = (items: string[]) =>
    items.length
      ? `<ul>${items.map((s) => `<li>${escapeHtml(s)}</li>`).join('')}</ul>`
      : '<p>none</p>';
  return page(
    'Allow access?',
    `<p><strong>${escapeHtml(input.clientId)}</strong> asks for:</p>${list(input.scopes)}
<p>at:</p>${list(input.resources)}
<form method="post" action="/interaction/${uid}/confirm" data-step="consent"><button type="submit">Allow</button></form>
<form method="post" action="/interaction/${uid}/abort"><button type="submit">Deny</button></form>`,
  );
}

/** A short error page for interaction failures (expired or unknown interaction). */
export function errorPage(message: string): string {
  return page(
    'Cannot continue',
    `<p class="error" data-error="${escapeHtml(message)}">${escapeHtml(message)}</p>`,
  );
}
