/**
 * How one kind of server differs from another, chosen once when connecting (src/server/connect.ts):
 * `standard` for a server that publishes RFC 8414 / OpenID metadata (src/server/standard.ts), and
 * `pipeops` for the PipeOps API, which publishes none and answers in its own shapes
 * (src/server/pipeops.ts). Flows call the dialect; nothing outside src/server/ asks which kind it is.
 */
import type { Profile, UserInfo } from "./account.ts";

/** Tokens as a grant issued them, before they are stored. */
export interface IssuedTokens {
  accessToken: string;
  refreshToken?: string;
  /** Seconds, from the response (RFC 6749 §5.1). */
  expiresIn?: number;
}

/** Which grant the token endpoint answered: its refusals mean different things. */
export type Grant = "authorization_code" | "refresh_token";

/** What an authorization response grants: a code to exchange, or (PipeOps) the access token itself. */
export type Authorization = { code: URLSearchParams } | { token: string };

/** The loopback redirect a server has registered for its public client. */
export type RedirectStyle = "127.0.0.1" | "localhost";

export interface ServerDialect {
  /** The redirect URI's host: RFC 8252 §7.3's 127.0.0.1, or the localhost PipeOps registers. */
  readonly redirect: RedirectStyle;
  /** Authorization request parameters beyond RFC 6749's and RFC 7636's. */
  readonly authorizationParameters: Readonly<Record<string, string>>;
  /** Code exchange parameters beyond RFC 6749 §4.1.3's. */
  readonly codeExchangeParameters: Readonly<Record<string, string>>;
  /** The account profile endpoint, where the server has one besides userinfo. */
  readonly profileEndpoint?: URL;
  /** Validates an authorization response for the sign-in that sent `state`: a code, or the token itself. */
  checkAuthorizationResponse(params: URLSearchParams, state: string): Promise<Authorization>;
  /**
   * The token endpoint's answer to a grant. `clockSkewSeconds`: how far the server's clock is
   * ahead of ours, for the ID Token times a standards server may send.
   */
  processTokenResponse(grant: Grant, response: Response, options?: { clockSkewSeconds?: number }): Promise<IssuedTokens>;
  /** GET userinfo with the bearer token: OpenID Connect's through oauth4webapi, or the PipeOps API's as an API call. */
  userInfoRequest(accessToken: string): Promise<Response>;
  /** Userinfo's answer to a token it accepted (a 401 is read before: src/oauth/userinfo.ts). */
  processUserInfoResponse(response: Response): Promise<UserInfo>;
  /** The profile endpoint's answer; undefined where it has nothing to add. */
  processProfileResponse(response: Response): Promise<Profile | undefined>;
}
