/**
 * The authorization server's clock as seen from this machine. Token expiry is the server's business,
 * so expires_at is kept in server time: the local clock plus the offset its `Date` header shows
 * (RFC 9110 §6.6.1). A fast local clock then does not refresh constantly, nor a slow one use dead tokens.
 */

/** Offsets within the Date header's own precision (1 s, plus the round trip) plus this slack count as none. */
const SLACK_MS = 1_000;

const IMF_FIXDATE = /^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/;

/**
 * Server time minus local time in ms, from a Date header sent while the local clock went from
 * `sentAt` to `receivedAt`; undefined when the header is missing or not an HTTP date.
 */
export function offsetFromDate(date: string | null, sentAt: number, receivedAt: number): number | undefined {
  const text = date?.trim();
  if (!text || !IMF_FIXDATE.test(text)) return undefined;
  const server = Date.parse(text);
  if (!Number.isFinite(server)) return undefined;
  // The header is truncated to the second and was written somewhere between sending and receiving.
  const lowest = server - Math.max(receivedAt, sentAt);
  const highest = server + 1_000 - Math.min(receivedAt, sentAt);
  if (lowest <= SLACK_MS && highest >= -SLACK_MS) return 0;
  return Math.round((lowest + highest) / 2);
}

export class ServerClock {
  #offsetMs: number;

  /** `offsetMs`: what the server's clock was last seen to be off by (0 when unknown). */
  constructor(
    private readonly localNow: () => number,
    offsetMs = 0,
  ) {
    this.#offsetMs = offsetMs;
  }

  /** Server time minus local time, in ms (0 until a response shows otherwise). */
  get offsetMs(): number {
    return this.#offsetMs;
  }

  /** The server's current time, in ms since the epoch. */
  now(): number {
    return this.localNow() + this.#offsetMs;
  }

  /** Learns the offset from a response's Date header; `sentAt` is the local time the request left. */
  observe(response: Response, sentAt: number, receivedAt = this.localNow()): void {
    const offset = offsetFromDate(response.headers.get("date"), sentAt, receivedAt);
    if (offset !== undefined) this.#offsetMs = offset;
  }

  /** A fetch that observes every response passing through it. */
  observing(fetch: typeof globalThis.fetch): typeof globalThis.fetch {
    const observed = async (input: RequestInfo | URL, init?: RequestInit) => {
      const sentAt = this.localNow();
      const response = await fetch(input, init);
      this.observe(response, sentAt);
      return response;
    };
    return observed as typeof globalThis.fetch;
  }

  /**
   * When a token issued in answer to a request sent at local time `sentAt` expires, in server time
   * (RFC 6749 §5.1 expires_in counts from the response; counting from the request errs early).
   */
  expiresAt(expiresIn: number | undefined, sentAt: number): Date | undefined {
    if (expiresIn === undefined || !Number.isFinite(expiresIn)) return undefined;
    return new Date(sentAt + this.#offsetMs + expiresIn * 1000);
  }
}
