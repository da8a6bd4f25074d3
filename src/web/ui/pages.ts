/**
 * The few pages the server renders itself (no data in them): sign-in and "not configured".
 * Everything else in the review UI is static HTML + JS modules (static/) reading the JSON API.
 */

/** Escapes text for HTML element content and double-quoted attributes. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${escapeHtml(title)} · callbridge</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/calls/assets/app.css">
</head>
<body class="centered">
${body}
</body>
</html>
`;
}

export function loginPage(options: { next: string; error?: 'wrong' | 'throttled' }): string {
  const error =
    options.error === 'wrong'
      ? '<p class="form-error" role="alert">That token is not right. Check ADMIN_TOKEN in the server’s configuration.</p>'
      : options.error === 'throttled'
        ? '<p class="form-error" role="alert">Too many wrong attempts. Wait a few minutes and try again.</p>'
        : '';
  return page(
    'Sign in',
    `<main class="card login-card">
  <h1 class="brand-title"><span class="brand-mark" aria-hidden="true"></span>callbridge</h1>
  <p class="muted">Sign in to review calls.</p>
  ${error}
  <form method="post" action="/calls/login">
    <input type="hidden" name="next" value="${escapeHtml(options.next)}">
    <label for="token">Admin token</label>
    <input id="token" name="token" type="password" autocomplete="current-password" required autofocus>
    <button type="submit" class="button primary">Sign in</button>
  </form>
  <p class="hint">The token is the server’s <code>ADMIN_TOKEN</code> setting.</p>
</main>`,
  );
}

export function notConfiguredPage(): string {
  return page(
    'Not available',
    `<main class="card login-card">
  <h1 class="brand-title"><span class="brand-mark" aria-hidden="true"></span>callbridge</h1>
  <h2>Call review is switched off</h2>
  <p>This server runs in production without <code>ADMIN_TOKEN</code>, so call records (which hold
  personal data) are not served to anyone.</p>
  <p><strong>Fix:</strong> set <code>ADMIN_TOKEN</code> to a long random value (at least 32
  characters, e.g. <code>openssl rand -base64 32</code>) and restart callbridge.</p>
</main>`,
  );
}
