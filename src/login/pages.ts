/**
 * The pages the loopback callback server answers with. Self-contained (inline style, no scripts, no
 * external resources) so the page that carries the authorization code in its URL loads nothing else,
 * and everything echoed is HTML-escaped.
 */

export interface CallbackPage {
  status: number;
  title: string;
  message: string;
  /** Extra detail, e.g. the server's error_description; shown as text, never as markup. */
  detail?: string;
  tone: "success" | "error";
}

export function escapeHtml(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;").replaceAll('"', "&quot;").replaceAll("'", "&#39;");
}

export const successPage = (): CallbackPage => ({
  status: 200,
  tone: "success",
  title: "Authentication complete",
  message: "You are signed in to the PipeOps CLI. You may close this window and return to the terminal.",
});

/** The start address asked for a second time: whoever asks, the sign-in has been stopped. */
export const startTakenPage = (): CallbackPage => ({
  status: 409,
  tone: "error",
  title: "This sign-in was stopped",
  message:
    "Its start address was asked for twice, so someone else on this machine may have it. The PipeOps CLI stopped the sign-in; run 'pipeops auth login' again.",
});

export const deniedPage = (detail?: string): CallbackPage => ({
  status: 200,
  tone: "error",
  title: "Authentication was denied",
  message: "The PipeOps CLI was not signed in. You may close this window; run 'pipeops auth login' to try again.",
  detail,
});

export const failedPage = (detail: string): CallbackPage => ({
  status: 200,
  tone: "error",
  title: "Authentication failed",
  message: "The PipeOps CLI could not complete the sign-in. You may close this window and check the terminal.",
  detail,
});

/** A token came on the callback: taken only when the user pastes this page's address into the terminal. */
export const pasteAddressPage = (): CallbackPage => ({
  status: 200,
  tone: "success",
  title: "Almost done: paste this page's address",
  message:
    "Copy the address of this page from the address bar and paste it into the terminal to finish signing in. The sign-in handed over a token directly; pasting it shows the PipeOps CLI that the token came from your browser.",
});

export const wrongStatePage = (): CallbackPage => ({
  status: 400,
  tone: "error",
  title: "Unknown sign-in request",
  message: "This link does not belong to the sign-in the PipeOps CLI is waiting for. The CLI is still waiting.",
});

export const finishedPage = (): CallbackPage => ({
  status: 400,
  tone: "error",
  title: "Sign-in already handled",
  message: "The PipeOps CLI has already received an answer for this sign-in. You may close this window.",
});

export const notFoundPage = (): CallbackPage => ({
  status: 404,
  tone: "error",
  title: "Not found",
  message: "The PipeOps CLI only answers the sign-in callback here.",
});

export const methodNotAllowedPage = (): CallbackPage => ({
  status: 405,
  tone: "error",
  title: "Method not allowed",
  message: "The sign-in callback accepts GET requests only.",
});

export const forbiddenHostPage = (): CallbackPage => ({
  status: 403,
  tone: "error",
  title: "Forbidden",
  message: "The PipeOps CLI answers only requests addressed to 127.0.0.1 or localhost.",
});

export function renderPage(page: CallbackPage): string {
  const colour = page.tone === "success" ? "#1a7f37" : "#b00020";
  const detail = page.detail ? `\n<p id="detail"><code>${escapeHtml(page.detail)}</code></p>` : "";
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${escapeHtml(page.title)} · PipeOps CLI</title>
<style>
body{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;color:#222;line-height:1.5}
h1{color:${colour};font-size:1.5rem}
code{background:#f3f3f3;padding:.1rem .3rem;border-radius:3px;word-break:break-word}
</style>
</head>
<body>
<h1 id="title">${escapeHtml(page.title)}</h1>
<p id="message">${escapeHtml(page.message)}</p>${detail}
</body>
</html>
`;
}

/**
 * The page the browser is handed to start a sign-in, from a file only the user can read: it sends
 * the browser on to `url` (the authorization URL, whose state and PKCE challenge therefore never
 * appear in any process's argv). A link too, for a browser that does not follow meta refresh.
 */
export function startPage(url: string): string {
  const href = escapeHtml(url);
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="referrer" content="no-referrer">
<meta http-equiv="refresh" content="0; url=${href}">
<title>Signing in to PipeOps</title>
</head>
<body>
<p>Taking you to the sign-in page… <a id="sign-in" href="${href}">Continue</a></p>
</body>
</html>
`;
}
