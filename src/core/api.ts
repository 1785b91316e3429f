import { bodyParser } from '@koa/bodyparser';
import type Router from '@koa/router';
import type { Context, Next } from 'koa';
import { recordAudit } from './audit.ts';
import { type Actor, hasRole } from './auth/roles.ts';
import { type Decision, authorize, firstRefusal, refused } from './authz.ts';
import type { Core } from './context.ts';
import { randomToken, sha256 } from './crypto.ts';
import { type Conn, inTransaction, insertReturningId, nowIso } from './db.ts';
import { AppError, ConflictError, ForbiddenError, NotFoundError, ValidationError } from './errors.ts';
import type { WorkQueue } from './module.ts';
import { isPathInScope, regionInScope, whereRegionInScope } from './regions.ts';

/**
 * The JSON API for machines under /api/v1: the data-sharing platform pushes reference data, the agent bank
 * fetches payout files (the payees' full account numbers) and posts results. A machine holds a bearer token made by
 * the county's administrator for one purpose and one region; only the token's SHA-256 is stored and it is shown
 * once. Every purpose reaches business data, so a token works only after a finance section user (财政局业务科室)
 * other than its maker has approved it: the administrator alone cannot open the payees' data to a machine
 * (三权分立). Requests carry no cookies, so no session or CSRF token applies; every state change is audited as the
 * token ("api:<name>").
 */
export const API_PURPOSES = { reference: '部门共享数据推送', bank: '代发银行', platform: '上级平台', budget: '预算管理一体化' } as const;

/** Purposes whose token speaks for one county (its data is a county's: reference data, the budget system's documents). */
const COUNTY_PURPOSES: Partial<Record<ApiPurpose, string>> = { reference: '部门共享数据按县推送：请选择县', budget: '预算管理一体化系统按县交换数据：请选择县' };
export type ApiPurpose = keyof typeof API_PURPOSES;

/** A token's decision; revocation (`revoked_at`) ends any of them. */
export const API_TOKEN_STATES = { pending: '待财政局业务科室批准', approved: '已批准', refused: '已拒绝' } as const;
export type ApiTokenState = keyof typeof API_TOKEN_STATES;

export interface ApiClient {
  tokenId: number;
  name: string;
  purpose: ApiPurpose;
  regionId: number;
  regionPath: string;
  orgId: number | null;
  ip: string | null;
}

/** Who an API call is in the audit log. */
export const apiAuditor = (client: ApiClient) => ({ userId: null, username: `api:${client.name}`, regionId: client.regionId, ip: client.ip });

const hashToken = (token: string) => sha256(token).toString('hex');

function assertAdmin(actor: Actor): void {
  if (!hasRole(actor, 'admin')) throw new ForbiddenError('接口令牌由系统管理员管理');
}

/**
 * Make a token (admin, for a region in scope); the token itself is returned once and stored only hashed. It is
 * pending: it authenticates nothing until the finance section approves it (decideApiToken).
 */
export async function createApiToken(core: Core, actor: Actor, input: { name: string; purpose: ApiPurpose; regionId: number; orgId: number | null }): Promise<{ id: number; token: string }> {
  assertAdmin(actor);
  const region = await regionInScope(core.db, actor, input.regionId);
  const countyOnly = COUNTY_PURPOSES[input.purpose];
  if (countyOnly && region.level !== 'county') throw new ValidationError({ regionId: countyOnly });
  if (input.orgId !== null && !(await core.db('core_org').where({ id: input.orgId, region_id: region.id }).first('id'))) throw new ValidationError({ orgId: '所选单位不在该地区' });
  const token = `ykt_${randomToken(32)}`;
  const id = await inTransaction(core.db, async (trx) => {
    const tokenId = await insertReturningId(trx, 'core_api_token', {
      name: input.name,
      purpose: input.purpose,
      region_id: region.id,
      org_id: input.orgId,
      token_hash: hashToken(token),
      state: 'pending',
      created_by: actor.userId,
      created_at: nowIso(),
    });
    await recordAudit(trx, actor, { action: 'api.token.create', objectType: 'api_token', objectId: tokenId, summary: { name: input.name, purpose: input.purpose, region: region.name, state: 'pending' } });
    return tokenId;
  });
  return { id, token };
}

export async function revokeApiToken(core: Core, actor: Actor, tokenId: number): Promise<void> {
  assertAdmin(actor);
  const row: { name: string; region_id: number } | undefined = await core.db('core_api_token').where({ id: tokenId }).first('name', 'region_id');
  if (!row) throw new NotFoundError('令牌不存在');
  await regionInScope(core.db, actor, row.region_id);
  await inTransaction(core.db, async (trx) => {
    const updated = await trx('core_api_token').where({ id: tokenId }).whereNull('revoked_at').update({ revoked_at: nowIso(), revoked_by: actor.userId });
    if (updated !== 1) throw new ConflictError('该令牌已停用');
    await recordAudit(trx, actor, { action: 'api.token.revoke', objectType: 'api_token', objectId: tokenId, summary: { name: row.name } });
  });
}

export interface ApiTokenRow {
  id: number;
  name: string;
  purpose: ApiPurpose;
  state: ApiTokenState;
  region_path: string;
  region_name: string;
  org_name: string | null;
  created_by: number;
  created_by_name: string | null;
  created_at: string;
  decided_by_name: string | null;
  decided_at: string | null;
  last_used_at: string | null;
  revoked_at: string | null;
}

function tokenQuery(db: Conn) {
  return db('core_api_token as t')
    .join('core_region as r', 'r.id', 't.region_id')
    .leftJoin('core_org as o', 'o.id', 't.org_id')
    .leftJoin('core_user as c', 'c.id', 't.created_by')
    .leftJoin('core_user as d', 'd.id', 't.decided_by')
    .select(
      't.id',
      't.name',
      't.purpose',
      't.state',
      'r.path as region_path',
      'r.name as region_name',
      'o.name as org_name',
      't.created_by',
      'c.display_name as created_by_name',
      't.created_at',
      'd.display_name as decided_by_name',
      't.decided_at',
      't.last_used_at',
      't.revoked_at',
    );
}

/** The tokens of the actor's region subtree, newest first. */
export async function listApiTokens(db: Conn, actor: Actor): Promise<ApiTokenRow[]> {
  return tokenQuery(db).where('r.path', 'like', `${actor.regionPath}%`).orderBy('t.id', 'desc');
}

/**
 * May the actor approve or refuse this token: a finance section user whose region holds the token's, a token still
 * waiting, and not one the actor made (four-eyes).
 */
export function canDecideApiToken(actor: Actor, token: Pick<ApiTokenRow, 'state' | 'region_path' | 'created_by' | 'revoked_at'>): Decision {
  return firstRefusal(
    () => (hasRole(actor, 'finance_section') ? null : refused('role', '接口令牌由财政局业务科室批准')),
    () => (isPathInScope(actor, token.region_path) ? null : refused('role', '该令牌的地区不在您的管辖范围内')),
    () => (token.revoked_at !== null ? refused('state', '该令牌已停用') : null),
    () => (token.state !== 'pending' ? refused('state', `该令牌${API_TOKEN_STATES[token.state]}，不能再次处理`) : null),
    () => (token.created_by === actor.userId ? refused('four_eyes', '您创建了该令牌，须由另一位财政局业务科室人员批准') : null),
  );
}

/** The finance section approves a waiting token (it works from now on) or refuses it (it never works). Audited. */
export async function decideApiToken(core: Core, actor: Actor, tokenId: number, decision: 'approve' | 'refuse'): Promise<{ name: string }> {
  const token: ApiTokenRow | undefined = await tokenQuery(core.db).where('t.id', tokenId).first();
  if (!token) throw new NotFoundError('令牌不存在');
  await authorize(core.db, actor, canDecideApiToken(actor, token), { objectType: 'api_token', objectId: tokenId });
  const state: ApiTokenState = decision === 'approve' ? 'approved' : 'refused';
  await inTransaction(core.db, async (trx) => {
    const updated = await trx('core_api_token').where({ id: tokenId, state: 'pending' }).whereNull('revoked_at').update({ state, decided_by: actor.userId, decided_at: nowIso() });
    if (updated !== 1) throw new ConflictError('该令牌已被他人处理，请刷新后查看');
    await recordAudit(trx, actor, {
      action: decision === 'approve' ? 'api.token.approve' : 'api.token.refuse',
      objectType: 'api_token',
      objectId: tokenId,
      summary: { name: token.name, purpose: token.purpose, region: token.region_name },
    });
  });
  return { name: token.name };
}

/** The finance section's home page line: tokens in its scope waiting for its decision. */
export async function apiTokenQueues(db: Conn, actor: Actor): Promise<WorkQueue[]> {
  if (!hasRole(actor, 'finance_section')) return [];
  const q = db('core_api_token').where({ state: 'pending' }).whereNull('revoked_at').whereNot('created_by', actor.userId);
  const [{ n }] = (await whereRegionInScope(q, 'region_id', actor, db).count({ n: '*' })) as { n: number }[];
  return n ? [{ title: '待批准的接口令牌', count: n, href: '/api-tokens' }] : [];
}

/** The API client of a request: its bearer token, approved and not revoked; or why a known token does not work. */
async function authenticate(db: Conn, ctx: Context): Promise<ApiClient | { refusal: string } | null> {
  const match = /^Bearer\s+(ykt_[A-Za-z0-9_-]{20,80})$/.exec(ctx.get('Authorization'));
  if (!match) return null;
  const row: { id: number; name: string; purpose: ApiPurpose; state: ApiTokenState; region_id: number; region_path: string; org_id: number | null } | undefined = await db('core_api_token as t')
    .join('core_region as r', 'r.id', 't.region_id')
    .where('t.token_hash', hashToken(match[1]!))
    .whereNull('t.revoked_at')
    .first('t.id', 't.name', 't.purpose', 't.state', 't.region_id', 'r.path as region_path', 't.org_id');
  if (!row) return null;
  if (row.state === 'pending') return { refusal: '该接口令牌尚待财政局业务科室批准，批准后才能使用' };
  if (row.state === 'refused') return { refusal: '该接口令牌未获财政局业务科室批准，不能使用' };
  await db('core_api_token').where({ id: row.id }).update({ last_used_at: nowIso() });
  return { tokenId: row.id, name: row.name, purpose: row.purpose, regionId: row.region_id, regionPath: row.region_path, orgId: row.org_id, ip: ctx.ip || null };
}

/**
 * An API client as the actor of the queries that read a region's figures: a supervisor of the token's region with no
 * user behind it (user id 0, which no user has), so that a query scopes it as it scopes a supervisor there. Only reads
 * take it: a module's canApiClient decides first, and no command is given it.
 */
export async function readerOf(db: Conn, client: ApiClient): Promise<Actor> {
  const region: { name: string; level: Actor['regionLevel'] } = await db('core_region').where({ id: client.regionId }).first('name', 'level');
  return { userId: 0, username: `api:${client.name}`, displayName: client.name, roles: ['supervisor'], regionId: client.regionId, regionPath: client.regionPath, regionName: region.name, regionLevel: region.level, orgId: null, orgName: null, ip: client.ip };
}

/** The client of an authenticated API request (set by apiMiddleware). */
export function apiClient(ctx: Context): ApiClient {
  return ctx.state.apiClient as ApiClient;
}

/**
 * One error of a refused API request: `field` names the JSON property (in an item of the body's array, whose
 * position from 1 is `row`), the query or path parameter, or the header it concerns; null when it concerns the
 * request as a whole (a round that does not exist, a state that does not allow the step).
 */
export interface ApiErrorItem {
  row?: number;
  field: string | null;
  message: string;
}

/** Every API error is one JSON shape: {errors: [{row?, field, message}]}, messages in Chinese. */
export const apiErrors = (...errors: ApiErrorItem[]) => ({ errors });

/** A request refused with errors in its body's items (a pushed file's records). */
export class ApiRefusal extends Error {
  constructor(readonly errors: ApiErrorItem[]) {
    super('请求有误，未做任何更改');
  }
}

/**
 * Row errors of rules shared with a file upload (they name the file's columns) as the API's: each column's JSON
 * property from `properties`; a column without one stays as it is.
 */
export function rowErrors(errors: readonly { rowNumber: number; field: string; message: string }[], properties: Record<string, string>): ApiErrorItem[] {
  return errors.map((e) => ({ ...(e.rowNumber > 0 ? { row: e.rowNumber } : {}), field: properties[e.field] ?? e.field, message: e.message }));
}

/** The largest JSON body an API request may carry (a result list of a large round). */
export const API_BODY_LIMIT_MB = 20;

/** What a request body the JSON parser refused gets, by the parser's status. */
const BODY_REFUSALS: Record<number, string> = {
  400: '请求体不是有效的 JSON',
  413: `请求体超过 ${API_BODY_LIMIT_MB} MB`,
  415: '请求体应为 JSON（Content-Type: application/json）',
};

/** The status and JSON body of an error thrown while answering an API request. */
function errorBody(err: unknown): { status: number; body: { errors: ApiErrorItem[] } } {
  if (err instanceof ApiRefusal) return { status: 422, body: apiErrors(...err.errors) };
  if (err instanceof ValidationError) return { status: 422, body: apiErrors(...Object.entries(err.fieldErrors).map(([field, message]) => ({ field, message }))) };
  if (err instanceof AppError) return { status: err.status, body: apiErrors({ field: null, message: err.message }) };
  const status = (err as { status?: number }).status;
  if (status && status >= 400 && status < 500) return { status, body: apiErrors({ field: null, message: BODY_REFUSALS[status] ?? '请求的格式不正确' }) };
  throw err;
}

/**
 * /api/v1/*: authenticated by bearer token (except the OpenAPI document), no session, no CSRF. The body is parsed
 * only once the token is known (no stranger makes the server parse 20 MB), and every answer that is not a success is
 * JSON in the one error shape, a body that is not JSON included. Mounted before the session and CSRF middleware;
 * other paths pass through.
 */
export function apiMiddleware(core: Core, router: Router) {
  const routes = router.routes();
  const methods = router.allowedMethods();
  const parseJson = bodyParser({ enableTypes: ['json'], jsonLimit: `${API_BODY_LIMIT_MB}mb` });
  return async (ctx: Context, next: Next) => {
    if (!ctx.path.startsWith('/api/')) return next();
    ctx.set('Cache-Control', 'no-store');
    try {
      if (ctx.path !== '/api/v1/openapi.json') {
        const client = await authenticate(core.db, ctx);
        if (!client || 'refusal' in client) {
          ctx.status = 401;
          ctx.set('WWW-Authenticate', 'Bearer');
          ctx.body = apiErrors({ field: 'Authorization', message: client ? client.refusal : '缺少或无效的接口令牌' });
          return;
        }
        ctx.state.apiClient = client;
      }
      // The router's context type adds params and router, which it sets itself.
      await parseJson(ctx as never, async () => {
        await routes(ctx as never, async () => undefined);
        await methods(ctx as never, async () => undefined);
      });
      if (ctx.body == null && ctx.status === 404) {
        ctx.status = 404;
        ctx.body = apiErrors({ field: null, message: '接口不存在' });
      } else if (ctx.body == null && ctx.status === 405) {
        ctx.body = apiErrors({ field: null, message: `该接口不支持 ${ctx.method} 请求，可用：${ctx.response.get('Allow')}` });
      }
    } catch (err) {
      const { status, body } = errorBody(err);
      ctx.status = status;
      ctx.body = body;
    }
  };
}

/** The error answers an operation may give, by status: each a JSON body of the one error shape. */
const ERROR_RESPONSES = {
  400: ['BadRequest', '请求体不是有效的 JSON'],
  401: ['Unauthorized', '缺少或无效的接口令牌，或令牌尚未批准（field 为 Authorization）'],
  403: ['Forbidden', '令牌的用途或机构不能调用本接口'],
  404: ['NotFound', '记录不存在，或不在令牌的地区和机构范围内'],
  409: ['Conflict', '记录的状态不允许本操作（如资金尚未拨付）'],
  413: ['PayloadTooLarge', `请求体超过 ${API_BODY_LIMIT_MB} MB`],
  422: ['UnprocessableEntity', '请求有误，未做任何更改：errors 逐项说明（row 为数组中的位置，从 1 起；field 为 JSON 属性或参数名）'],
} as const;
export type ApiErrorStatus = keyof typeof ERROR_RESPONSES;

/** An operation's error answers, as references to the document's shared responses. */
export const errorResponses = (...statuses: ApiErrorStatus[]) => Object.fromEntries(statuses.map((status) => [String(status), { $ref: `#/components/responses/${ERROR_RESPONSES[status][0]}` }]));

/**
 * The answers of a POST that imports a batch whole (results, confirmations, reference data): 201 taken, 200 the same
 * batch again (nothing changed, the first answer), and the errors, with those of the operation's own records.
 */
export const importResponses = (schema: Record<string, unknown>, ...statuses: (404 | 409)[]) => ({
  '201': jsonResponse('已导入', schema),
  '200': jsonResponse('同一批已导入过，未做任何更改（返回第一次的结果）', schema),
  ...errorResponses(400, 401, 403, ...statuses, 413, 422),
});

/** A JSON response of this schema. */
export const jsonResponse = (description: string, schema: Record<string, unknown>) => ({ description, content: { 'application/json': { schema } } });

/** An OpenAPI request body of JSON with this schema (the modules' documents use it). */
export const jsonBody = (schema: Record<string, unknown>) => ({ required: true, content: { 'application/json': { schema } } });

/** The OpenAPI 3.1 document of /api/v1: the modules' paths, bearer authentication, the one error shape. */
export function openApiDocument(paths: Record<string, unknown>, schemas: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    openapi: '3.1.0',
    info: {
      title: '惠民惠农财政补贴资金“一卡通”平台接口',
      version: '1',
      description:
        '供代发银行、数据共享平台、上级平台和预算管理一体化系统调用。令牌由县级系统管理员在“接口令牌”页面创建，经财政局业务科室批准后生效，每个令牌限一个用途和一个地区。出错时一律返回 JSON：{errors: [{row?, field, message}]}。时间为带时区的 ISO 8601。',
      license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
    },
    servers: [{ url: '/api/v1', description: '本平台' }],
    security: [{ bearer: [] }],
    tags: [
      { name: 'bank', description: '代发银行：代发文件、回盘结果、发放告知（令牌用途“代发银行”，并指定本机构）' },
      { name: 'reference', description: '部门共享数据推送（令牌用途“部门共享数据推送”，限县）' },
      { name: 'platform', description: '上级平台：发放统计（令牌用途“上级平台”，按令牌所属地区）' },
      { name: 'budget', description: '预算管理一体化：导入指标文件，取支付凭证和用款计划（令牌用途“预算管理一体化”，限县）；格式见 /help/formats/budget-exchange-format' },
    ],
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: '接口令牌（ykt_ 开头）' } },
      schemas: {
        ...schemas,
        Error: {
          type: 'object',
          required: ['errors'],
          additionalProperties: false,
          properties: {
            errors: {
              type: 'array',
              minItems: 1,
              items: {
                type: 'object',
                required: ['field', 'message'],
                additionalProperties: false,
                properties: {
                  row: { type: 'integer', minimum: 1, description: '请求体数组中的第几项（从 1 起）' },
                  field: { type: ['string', 'null'], description: 'JSON 属性、查询或路径参数、或请求头的名称；涉及整个请求时为 null' },
                  message: { type: 'string', description: '中文说明' },
                },
              },
            },
          },
        },
      },
      responses: Object.fromEntries(Object.values(ERROR_RESPONSES).map(([name, description]) => [name, jsonResponse(description, { $ref: '#/components/schemas/Error' })])),
    },
    paths,
  };
}
