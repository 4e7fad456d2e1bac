/**
 * `pipeops auth login --qr` (or PIPEOPS_QR): a QR code of the URL to open, below it, at a terminal.
 * The test reads the code back from what the terminal shows (two modules a character cell), decodes
 * it with jsQR, and checks that it is the URL printed above it.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import jsQR from "jsqr";
import { type DevServer, startDevServer } from "../../scripts/dev-server.ts";
import { type PipeOpsServer, startPipeOpsServer } from "../../scripts/pipeops-server.ts";
import { runBinary } from "../helpers/binary.ts";
import { approveDevice } from "../helpers/flows.ts";
import { spawnInTerminal, tempHome } from "../helpers/interactive.ts";

setDefaultTimeout(60_000);

let dev: DevServer;
let pipeops: PipeOpsServer;
beforeAll(async () => {
  [dev, pipeops] = await Promise.all([startDevServer(), startPipeOpsServer()]);
});
afterAll(async () => {
  await Promise.all([dev?.close(), pipeops?.close()]);
});

const BLOCKS = new Set(["█", "▀", "▄", " "]);

/** The lines of the screen that are the QR code: only block characters and spaces, with at least one block. */
function qrLinesOf(screen: string): string[] {
  return screen.split("\r\n").filter((line) => line.length > 10 && [...line].every((ch) => BLOCKS.has(ch)) && /[█▀▄]/.test(line));
}

/** The modules back from half blocks (a block is a light module, as uqr draws them), decoded by jsQR. */
function decode(lines: string[], inverted: boolean): string | undefined {
  const width = Math.max(...lines.map((line) => [...line].length));
  const height = lines.length * 2;
  const scale = 4;
  const pixels = new Uint8ClampedArray(width * scale * height * scale * 4);
  lines.forEach((line, row) => {
    [...line].forEach((ch, column) => {
      const light = [ch === "█" || ch === "▀", ch === "█" || ch === "▄"];
      for (const [half, isLight] of light.entries()) {
        const value = isLight !== inverted ? 255 : 0;
        for (let dy = 0; dy < scale; dy++) {
          for (let dx = 0; dx < scale; dx++) {
            const i = (((row * 2 + half) * scale + dy) * width * scale + column * scale + dx) * 4;
            pixels.set([value, value, value, 255], i);
          }
        }
      }
    });
  });
  // Only dark-on-light, as a phone camera most surely reads it: the polarity is part of what is tested.
  return jsQR(pixels, width * scale, height * scale, { inversionAttempts: "dontInvert" })?.data;
}

describe("auth login --qr at a terminal", () => {
  test("device grant: the code decodes to the verification URL printed above it; the login completes", async () => {
    const { env } = tempHome();
    const cli = spawnInTerminal(["auth", "login", "--no-browser", "--qr"], { ...env, PIPEOPS_API_URL: dev.url });
    try {
      await cli.waitForScreen(/Waiting for authentication/);
      const url = /authenticate:\r\n(\S+)\r\n/.exec(cli.screen())![1]!;
      const lines = qrLinesOf(cli.screen());
      expect(lines.length).toBeGreaterThan(10);
      expect(decode(lines, false)).toBe(url);
      // The URL stays on screen as text, above the code, for screen readers and odd fonts.
      expect(cli.screen().indexOf(url)).toBeLessThan(cli.screen().indexOf(lines[0]!));
      await approveDevice(url);
      expect(await cli.exited).toBe(0);
    } finally {
      cli.close();
    }
  });

  test("PIPEOPS_QR=light: the inverted code, for light themes, decodes the same", async () => {
    const { env } = tempHome();
    const cli = spawnInTerminal(["auth", "login", "--no-browser", "--timeout", "3"], { ...env, PIPEOPS_API_URL: dev.url, PIPEOPS_QR: "light" });
    try {
      await cli.waitForScreen(/Waiting for authentication/);
      const url = /authenticate:\r\n(\S+)\r\n/.exec(cli.screen())![1]!;
      const lines = qrLinesOf(cli.screen());
      expect(decode(lines, true)).toBe(url);
      expect(decode(lines, false)).toBeUndefined();
      cli.interrupt();
      expect(await cli.exited).toBe(130);
    } finally {
      cli.close();
    }
  });

  test("paste flow (PipeOps): the authorization URL as a code when the terminal is tall enough, none when it is not", async () => {
    for (const [rows, shown] of [
      [80, true],
      [24, false],
    ] as const) {
      const { env } = tempHome();
      const cli = spawnInTerminal(
        ["auth", "login", "--no-browser", "--qr"],
        { ...env, PIPEOPS_API_URL: pipeops.url, PIPEOPS_DASHBOARD_URL: pipeops.consoleUrl },
        undefined,
        { rows, columns: 200 },
      );
      try {
        await cli.waitForScreen(/press Enter:\r\n/);
        const url = /authenticate:\r\n(\S+)\r\n/.exec(cli.screen())![1]!;
        const lines = qrLinesOf(cli.screen());
        if (shown) expect(decode(lines, false)).toBe(url);
        else expect(lines).toEqual([]);
        cli.interrupt();
        expect(await cli.exited).toBe(130);
      } finally {
        cli.close();
      }
    }
  });

  test("not on a pipe: the URL alone, even with --qr", async () => {
    const { env } = tempHome();
    const result = await runBinary(["auth", "login", "--no-browser", "--qr", "--timeout", "1"], { env: { ...env, PIPEOPS_API_URL: dev.url } });
    expect(result.stderr).toMatch(
      /^Please open this URL in your browser to authenticate:\n\S+\n\nWaiting for authentication\.\.\.\nError: authentication timed out\n/,
    );
  });
});
