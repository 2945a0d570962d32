/**
 * WechatSim: the facade tests, benchmarks and demo mode use. One HTTP server (sim/server.ts)
 * carrying the modules (MP, QR codes, OAuth, Mini Program, WeCom), one adjustable clock
 * (sim/clock.ts). docs/design.md §8.
 */
import { SimClock } from './clock';
import { ComponentSim } from './component';
import { wxError } from './errors';
import { verifyJsapi } from './jsapi';
import { MinaSim, type MinaUserData } from './mina';
import { MpSim, type TicketType, type TokenState } from './mp';
import { OAuthSim, type OAuthAppType, type OAuthScope, type SimUser } from './oauth';
import { QrcodeSim, type QrcodeRecord } from './qrcode';
import { type RobotMessage, RobotSim } from './robot';
import { SimServer } from './server';
import type { Fault, SimEndpoint, SimOptions } from './types';
import { type PushAnswer, SuiteSim } from './suite';
import { WorkSim, type WorkTicketKind } from './work';

export class WechatSim {
  private readonly clock: SimClock;
  private readonly server = new SimServer();
  private readonly mp: MpSim;
  private readonly qrcodes: QrcodeSim;
  private readonly oauth: OAuthSim;
  private readonly work: WorkSim;
  private readonly suites: SuiteSim;
  private readonly mina: MinaSim;
  private readonly robots: RobotSim;
  private readonly components: ComponentSim;

  private constructor(opts: SimOptions) {
    this.clock = new SimClock(opts.now ?? Date.now());
    this.mp = new MpSim(this.clock, {
      tokenDailyQuota: opts.tokenDailyQuota ?? 2000,
      stableForceDailyQuota: opts.stableForceDailyQuota ?? 20,
      tokenLifetimeSeconds: opts.tokenLifetimeSeconds ?? 7200,
      reissuedTicketExpiresIn: opts.reissuedTicketExpiresIn ?? 'remaining',
    });
    this.server.addRoutes(this.mp.routes());
    this.qrcodes = new QrcodeSim(this.clock, (appid, token) => this.mp.tokenState(appid, token), {
      permanentLimit: opts.permanentQrcodeLimit ?? 100_000,
      dailyQuota: opts.qrcodeDailyQuota ?? 100_000,
    });
    this.server.addRoutes(this.qrcodes.routes());
    this.oauth = new OAuthSim(this.clock);
    this.server.addRoutes(this.oauth.routes());
    this.work = new WorkSim(this.clock);
    this.server.addRoutes(this.work.routes());
    this.suites = new SuiteSim(this.clock, this.work);
    this.server.addRoutes(this.suites.routes());
    this.mina = new MinaSim(this.clock);
    this.server.addRoutes(this.mina.routes());
    this.robots = new RobotSim(this.clock);
    this.server.addRoutes(this.robots.routes());
    this.components = new ComponentSim(this.clock, this.mp, {
      rotateRefreshTokens: opts.rotateRefreshTokens ?? 'never',
      onAuthorized: (appid) => this.qrcodes.addApp(appid),
    });
    this.server.addRoutes(this.components.routes());
    // WeChat and WeCom answer the same path on their own hosts; here one server tells them apart by the token.
    this.server.addRoutes([
      {
        path: '/cgi-bin/get_api_domain_ip',
        endpoint: 'api_domain_ip',
        handle: (r) => {
          const token = r.query.get('access_token');
          if (!token) return wxError(41001);
          return this.work.apiDomainIp(token) ?? this.mp.apiDomainIp(token) ?? wxError(40001);
        },
      },
    ]);
  }

  static async start(opts: SimOptions = {}): Promise<WechatSim> {
    const sim = new WechatSim(opts);
    await sim.server.listen();
    return sim;
  }

  /** 'http://127.0.0.1:PORT', the upstream base URL. */
  get url(): string {
    return this.server.url;
  }

  /** `opts.type` decides which OAuth page the app may use: 'mp' (default) oauth2/authorize, 'web' qrconnect. */
  addApp(appid: string, secret: string, opts: { type?: OAuthAppType } = {}): void {
    this.mp.addApp(appid, secret);
    this.qrcodes.addApp(appid);
    this.oauth.addApp(appid, secret, opts.type);
    if (opts.type === 'mina') this.mina.addApp(appid, secret);
  }

  /** The app's IP allow-list: its token requests from any other address answer 40164 naming that address; undefined lifts it. */
  allowIps(appid: string, ips: readonly string[] | undefined): void {
    this.mp.allowIps(appid, ips);
  }

  /** WeCom: a group robot whose webhook is `${url}/cgi-bin/webhook/send?key=${key}` (20 messages a minute). */
  addRobot(key: string): void {
    this.robots.addRobot(key);
  }

  /** WeCom: what the robot posted to its group, oldest first. */
  robotMessages(key: string): RobotMessage[] {
    return this.robots.messages(key);
  }

  /** WeCom: an app (agent) of a corp with its own secret; gettoken issues it its own token. */
  addWorkApp(corpid: string, agentid: string, secret: string): void {
    this.work.addApp(corpid, agentid, secret);
  }

  /**
   * WeCom: a secret without an agent, the contacts (通讯录同步) or customer-contact (客户联系) one:
   * gettoken with it issues a token of its own, as an agent's secret does.
   */
  addWorkSecret(corpid: string, kind: 'contacts' | 'externalcontact', secret: string): void {
    this.work.addSecret(corpid, kind, secret);
  }

  workTokenState(corpid: string, agentid: string, token: string): TokenState {
    return this.work.tokenState(corpid, agentid, token);
  }

  /** WeCom may end a token early; calls with it then answer 40014 and gettoken issues a new one. */
  invalidateWorkToken(token: string): void {
    this.work.invalidateToken(token);
  }

  /**
   * WeCom JS-SDK: whether `signature` signs the page with a valid ticket: kind 'jsapi' (wx.config)
   * any corp ticket of `corpid`, kind 'agent_config' (wx.agentConfig) the agent's own ticket.
   */
  verifyWorkSignature(p: {
    corpid: string;
    agentid: string;
    kind: WorkTicketKind;
    url: string;
    nonceStr: string;
    timestamp: number;
    signature: string;
  }): boolean {
    const tickets =
      p.kind === 'jsapi'
        ? this.work.validCorpTickets(p.corpid, 'jsapi')
        : this.work.validTickets(p.corpid, p.agentid, 'agent_config');
    return verifyJsapi(tickets, p);
  }

  /** WeCom, test-only: make `ticket` the agent's current ticket of `kind` until `expiresAt` (sim clock). */
  seedWorkTicket(corpid: string, agentid: string, kind: WorkTicketKind, ticket: string, expiresAt: number): void {
    this.work.seedTicket(corpid, agentid, kind, ticket, expiresAt);
  }

  /** Third-party platform: a component with its secret, message token and EncodingAESKey. */
  addComponent(appid: string, c: { secret: string; token: string; encodingAESKey: string }): void {
    this.components.addComponent(appid, c);
  }

  /** Third-party platform: its 授权事件接收 URL; a ticket is pushed now and every 10 minutes of the sim clock. */
  componentPushUrl(component: string, url: string | undefined): Promise<void> {
    return this.components.setPushUrl(component, url);
  }

  /** Third-party platform: push a fresh verify ticket now; WeChat's view of our answer (undefined: no URL). */
  pushVerifyTicket(component: string): Promise<{ status: number; body: string } | undefined> {
    return this.components.pushVerifyTicket(component);
  }

  /** Third-party platform: the latest verify ticket issued. */
  latestVerifyTicket(component: string): string | undefined {
    return this.components.latestTicket(component);
  }

  /** Third-party platform: the Official Account whose administrator authorizes on the next consent page. */
  setComponentAccount(appid: string): void {
    this.components.setAccount(appid);
  }

  /** Third-party platform: the account cancels its authorization (its tokens die; `unauthorized` is pushed). */
  componentUnauthorize(component: string, appid: string): Promise<{ status: number; body: string } | undefined> {
    return this.components.unauthorize(component, appid);
  }

  /** Third-party platform: api_authorizer_token answers `ms` after it refreshed (the caller may die meanwhile). */
  slowAuthorizerRefresh(ms: number): void {
    this.components.setRefreshDelay(ms);
  }

  /** Third-party platform: the refresh tokens WeChat accepts now for the authorization. */
  validRefreshTokens(component: string, appid: string): string[] {
    return this.components.validRefreshTokens(component, appid);
  }

  /** Third-party platform: the pushes under way, settled. */
  componentPushesSettled(): Promise<void> {
    return this.components.settled();
  }

  /** WeCom third-party app (suite) of a service provider, with its secret, callback token and EncodingAESKey. */
  addSuite(suiteId: string, secret: string, token: string, encodingAESKey: string): void {
    this.suites.addSuite(suiteId, secret, token, encodingAESKey);
  }

  /** The suite's 指令回调URL: a suite_ticket is pushed to it now, and every 10 minutes of the sim clock. */
  setSuiteCallback(suiteId: string, url: string): Promise<PushAnswer> {
    return this.suites.setCallback(suiteId, url);
  }

  /** Push a new suite_ticket now. */
  pushSuiteTicket(suiteId: string): Promise<PushAnswer> {
    return this.suites.pushTicket(suiteId);
  }

  /** A corp admin installs the suite's app as `agentid`: create_auth with a fresh auth code (10 minutes, single use). */
  installSuite(
    suiteId: string,
    corpid: string,
    opts: { agentid: string; corpName?: string; state?: string },
  ): Promise<{ authCode: string; answer: PushAnswer }> {
    return this.suites.install(suiteId, corpid, opts);
  }

  /** The corp changes the app's permissions: change_auth. */
  changeSuiteAuth(suiteId: string, corpid: string): Promise<PushAnswer> {
    return this.suites.changeAuth(suiteId, corpid);
  }

  /** The corp uninstalls the app: cancel_auth; its permanent code and token stop working. */
  cancelSuiteAuth(suiteId: string, corpid: string): Promise<PushAnswer> {
    return this.suites.cancelAuth(suiteId, corpid);
  }

  /** Test-only: the permanent code WeCom gave for the corp's authorization of the suite. */
  suitePermanentCode(suiteId: string, corpid: string): string | undefined {
    return this.suites.permanentCode(suiteId, corpid);
  }

  /** The sim clock, epoch ms. */
  now(): number {
    return this.clock.now();
  }

  advance(ms: number): void {
    this.clock.advance(ms);
  }

  calls(endpoint?: SimEndpoint, appid?: string): number {
    return this.server.calls(endpoint, appid);
  }

  resetCalls(): void {
    this.server.resetCalls();
  }

  fault(endpoint: SimEndpoint, fault: Fault, times = 1): void {
    this.server.fault(endpoint, fault, times);
  }

  clearFaults(): void {
    this.server.clearFaults();
  }

  tokenState(appid: string, token: string): TokenState {
    return this.mp.tokenState(appid, token);
  }

  /** WeChat ends an Official Account / Mini Program token early: calls with it answer 40001, token endpoints issue a new one. */
  invalidateToken(token: string): void {
    this.mp.invalidateToken(token);
  }

  verifyJsapiSignature(p: {
    appid: string;
    url: string;
    nonceStr: string;
    timestamp: number;
    signature: string;
  }): boolean {
    return verifyJsapi(this.mp.validTickets(p.appid, 'jsapi'), p);
  }

  /**
   * Test-only: make `ticket` the app's current ticket of `type` until `expiresAt` (epoch ms on
   * the sim clock). getticket then returns it, and verifyJsapiSignature accepts signatures made
   * with it (type 'jsapi') — lets tests use the official signature vector.
   */
  seedTicket(appid: string, type: TicketType, ticket: string, expiresAt: number): void {
    this.mp.seedTicket(appid, type, ticket, expiresAt);
  }

  /** The QR code a qrcode/create ticket stands for (expired ones too); undefined for an unknown ticket. */
  qrcode(ticket: string): QrcodeRecord | undefined {
    return this.qrcodes.qrcode(ticket);
  }

  /** Distinct permanent QR codes the app holds. */
  permanentQrcodes(appid: string): number {
    return this.qrcodes.permanentCount(appid);
  }

  /** OAuth: the WeChat user who authorizes from now on (default "user1"; a page URL's `&sim_user=` wins). */
  setOAuthUser(user: string): void {
    this.oauth.setUser(user);
  }

  /** OAuth: the fake profile of `user` as `appid` sees it (openid, unionid, nickname, ...). */
  oauthUser(appid: string, user = 'user1'): SimUser {
    return this.oauth.user(appid, user);
  }

  /** OAuth, test-only: a fresh code as if `user` had just authorized `appid` with `scope`. */
  oauthCode(appid: string, scope: OAuthScope, user?: string): string {
    return this.oauth.mintCode(appid, scope, user);
  }

  /** Mini Program: a fresh jscode2session code as wx.login in `appid` gives `user` (single use, 5 minutes); the user's session_key changes with it. */
  minaLogin(appid: string, user = 'user1'): string {
    return this.mina.mintCode(appid, user);
  }

  /** Mini Program: wx.getUserInfo's {encryptedData, iv} for `user`, under their current session_key. */
  minaUserData(appid: string, user = 'user1'): MinaUserData {
    return this.mina.userData(appid, user);
  }

  /** Mini Program: `appid` is not bound to an open-platform account, so jscode2session and its data carry no unionid. */
  minaUnbind(appid: string): void {
    this.mina.unbind(appid);
  }

  /** Mini Program, test-only: `user`'s current session_key (undefined before their first login). */
  minaSessionKey(appid: string, user = 'user1'): string | undefined {
    return this.mina.sessionKey(appid, user);
  }

  close(): Promise<void> {
    this.components.close();
    this.suites.close();
    return this.server.close();
  }
}
