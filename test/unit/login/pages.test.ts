/** The loopback callback pages, parsed as a browser would (happy-dom). */
import { afterEach, describe, expect, test } from "bun:test";
import { Window } from "happy-dom";
import {
  type CallbackPage,
  deniedPage,
  failedPage,
  finishedPage,
  forbiddenHostPage,
  methodNotAllowedPage,
  notFoundPage,
  renderPage,
  successPage,
  wrongStatePage,
} from "../../../src/login/pages.ts";

const windows: Window[] = [];
afterEach(async () => {
  for (const window of windows.splice(0)) await window.happyDOM.close();
});

function parse(html: string) {
  const window = new Window({
    url: "http://127.0.0.1:8080/callback",
    settings: { disableJavaScriptEvaluation: true, disableJavaScriptFileLoading: true, disableCSSFileLoading: true },
  });
  windows.push(window);
  window.document.write(html);
  return window.document;
}

const ALL_PAGES: [string, CallbackPage][] = [
  ["success", successPage()],
  ["denied", deniedPage("the server said no")],
  ["failed", failedPage("token exchange failed")],
  ["wrong state", wrongStatePage()],
  ["finished", finishedPage()],
  ["not found", notFoundPage()],
  ["method not allowed", methodNotAllowedPage()],
  ["forbidden host", forbiddenHostPage()],
];

describe("callback pages", () => {
  test("success tells the user they may close the window", () => {
    const document = parse(renderPage(successPage()));
    expect(document.title).toBe("Authentication complete · PipeOps CLI");
    expect(document.querySelector("#title")?.textContent).toBe("Authentication complete");
    expect(document.querySelector("#message")?.textContent).toContain("You may close this window");
  });

  test("denial says so and suggests rerunning the login", () => {
    const document = parse(renderPage(deniedPage()));
    expect(document.querySelector("#title")?.textContent).toBe("Authentication was denied");
    expect(document.querySelector("#message")?.textContent).toContain("pipeops auth login");
    expect(document.querySelector("#detail")).toBeNull();
  });

  test.each(ALL_PAGES)("%s page is self-contained: no scripts, no external resources", (_name, page) => {
    const html = renderPage(page);
    const document = parse(html);
    expect(document.querySelectorAll("script, link, img, iframe, object, embed, form, base").length).toBe(0);
    for (const element of document.querySelectorAll("*")) {
      for (const attribute of ["src", "href", "action", "srcset", "style"]) expect(element.getAttribute(attribute)).toBeNull();
    }
    expect(html).not.toMatch(/url\(|@import|https?:\/\//);
    expect(document.querySelector('meta[name="referrer"]')?.getAttribute("content")).toBe("no-referrer");
  });

  test("markup in echoed text is shown as text, never parsed", () => {
    const hostile = `<script>alert(1)</script><img src=x onerror=alert(2)>"'&`;
    const html = renderPage(deniedPage(hostile));
    const document = parse(html);
    expect(document.querySelectorAll("script, img").length).toBe(0);
    expect(document.querySelector("#detail")?.textContent).toBe(hostile);
    expect(html).not.toContain("<script>");
  });
});
