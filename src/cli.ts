import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { auditKeyId } from './core/audit-key.ts';
import { ConfigError, loadAuditVerifierConfig, loadConfig, parseAuditKey } from './core/config.ts';
import { ValidationError } from './core/errors.ts';

/**
 * `ykt <command>`: what county IT runs on the server. Each command loads what it needs when it runs (the server, the
 * database driver, the demo county), so that `ykt --help` or a mistyped command answers at once.
 */
const USAGE = `用法：ykt <命令>
  serve                    启动生产实例（需要 YKT_SECRET_KEY）
  --version                版本、构建编号和 Node 版本
  demo                     在 SQLite 上启动演示县（自动建库、写入演示数据）
  migrate                  仅执行数据库迁移
  create-admin --username 用户名 --name 姓名 --region 省/市/县
                           创建第一位系统管理员，打印一次性初始密码
  verify-audit [--key-file 审计密钥文件]
                           校验审计日志哈希链和锚点，发现删改时以非零状态退出；
                           只需审计密钥（--key-file、YKT_AUDIT_KEY，或由 YKT_SECRET_KEY 推出）
  audit-key                打印审计密钥，供审计机关核验审计日志（见帮助页 /help/formats/audit-chain）
  backup                   立即备份 SQLite 数据库到 $YKT_DATA_DIR/backups（服务运行时也可执行），
                           旁附 SM3 校验值和审计日志末条记录（<备份文件>.json）
  restore <备份文件>        从备份恢复 SQLite 数据库：先核对 SM3，服务运行时拒绝；原库另存，
                           恢复后校验审计日志哈希链
  rotate-key --new-key-file 新密钥文件 [--instances-stopped]
                           停机更换字段加密密钥（YKT_SECRET_KEY 为旧密钥，须已设置 YKT_AUDIT_KEY）：
                           一个事务内重新加密全部加密字段、重算索引；SQLite 先备份，PostgreSQL 须确认所有实例已停止
  rotate-signing-key       更换代发文件的 SM2 签名密钥对：新密钥对此后签名，旧密钥对停用但保留（其签名仍可核对）
  migrate-to-postgres <postgres://…> [--target-key-file 中心密钥文件] [--target-audit-key-file 中心审计密钥文件]
                      [--username-prefix 前缀]
                           把本县的 SQLite 数据库迁入中心 PostgreSQL 部署（其中可已有其他县）：编号顺延、
                           上级地区和省级政策按编码对应、按中心密钥重新加密、审计日志原样归档；
                           一个事务，核对各表行数、各批次金额和审计日志后才提交，失败可重跑；县的数据库不改动
  bench [--json] [--pg URL [--against SQLite结果.json]]
                           运行性能基准；--against 把 PostgreSQL 的各步骤与同一台机器上 SQLite 的结果（--json 的输出）相比
  bank-sim --in 代发文件 --out 回盘文件 [--fail-rate 0.02] [--seed 1]
                           银行模拟器：读取代发文件，写出回盘文件（按比例模拟失败），用于演示和测试
  bank-sim --notices 告知文件 --out 发送结果文件 [--fail-rate 0.02] [--seed 1]
                           同上，读取补贴发放告知文件，写出告知发送结果文件（见帮助页 /help/formats/notice-format）
  bank-sim --accounts 核验名单 --out 核验结果文件 [--fail-rate 0.02] [--seed 1]
                           同上，读取账户核验名单，写出核验结果（见帮助页 /help/formats/account-check-format）
  bank-sim … --key 银行私钥.pem
                           以银行的 SM2 私钥解开加密的代发文件（.enc），并签名写出的文件（写出 <文件>.sig）
  bank-sim --new-key 银行私钥.pem
                           生成银行的 SM2 密钥对：写出私钥，打印公钥（PEM）和指纹，供在代发协议中登记
                           （见帮助页 /help/formats/signature-format）`;

/** `ykt bank-sim`: the agent bank's side of the files, for the demo and the tests (see the usage above). */
async function bankSim(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { in: { type: 'string' }, notices: { type: 'string' }, accounts: { type: 'string' }, out: { type: 'string' }, key: { type: 'string' }, 'new-key': { type: 'string' }, 'fail-rate': { type: 'string', default: '0.02' }, seed: { type: 'string', default: '1' } } });
  const signing = await import('./core/signing.ts');
  if (values['new-key']) {
    const pair = signing.newKeyPairPem();
    fs.writeFileSync(values['new-key'], pair.privateKeyPem, { mode: 0o600 });
    process.stdout.write(`已写出银行私钥 ${values['new-key']}（请妥善保管）。请在代发协议中登记下面的公钥，指纹 ${pair.fingerprint}：\n${pair.publicKeyPem}`);
    return 0;
  }
  const source = values.notices ?? values.accounts ?? values.in;
  if (!source || !values.out) {
    process.stderr.write('用法：ykt bank-sim --in 代发文件 --out 回盘文件 [--fail-rate 0.02] [--seed 1] [--key 银行私钥.pem]\n      ykt bank-sim --notices 告知文件 --out 发送结果文件 [--fail-rate 0.02] [--seed 1] [--key 银行私钥.pem]\n      ykt bank-sim --accounts 核验名单 --out 核验结果文件 [--fail-rate 0.02] [--seed 1] [--key 银行私钥.pem]\n      ykt bank-sim --new-key 银行私钥.pem\n');
    return 2;
  }
  const key = values.key ? signing.parsePrivateKeyPem(fs.readFileSync(values.key, 'utf8')) : null;
  const input = fs.readFileSync(source);
  let file: Buffer = input;
  if (signing.envelopeParts(input)) {
    if (!key) {
      process.stderr.write('输入文件已按代发协议加密（.enc）：请用 --key 给出银行的 SM2 私钥\n');
      return 2;
    }
    file = signing.openEnvelope(input, key.privateKey);
  }
  const { simulateAccountCheck, simulateNoticeConfirmations, simulateResults } = await import('./modules/bank/simulator.ts');
  const options = { failRate: Number(values['fail-rate']), seed: Number(values.seed) };
  const written = values.notices ? await simulateNoticeConfirmations(file, options) : values.accounts ? { ...(await simulateAccountCheck(file, options)), checked: true } : await simulateResults(file, options);
  fs.writeFileSync(values.out, written.csv);
  if (key) {
    const signature = signing.signWith(key.privateKey, key.publicKey, written.csv);
    fs.writeFileSync(`${values.out}.sig`, signing.signatureFile({ algorithm: 'SM2-SM3', key: signing.fingerprintOf(key.publicKey), signature }, path.basename(values.out)));
  }
  const signed = key ? `，签名 ${values.out}.sig` : '';
  process.stdout.write(
    'notices' in written
      ? `已写出告知发送结果文件 ${values.out}：${written.notices} 条，其中发送失败 ${written.failed} 条${signed}\n`
      : 'checked' in written
        ? `已写出账户核验结果 ${values.out}：${written.lines} 笔，其中有误 ${written.failed} 笔${signed}\n`
        : `已写出回盘文件 ${values.out}：${written.lines} 笔，其中失败 ${written.failed} 笔${signed}\n`,
  );
  return 0;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'serve': {
      const { start } = await import('./server.ts');
      // The field key changed under this instance (ykt rotate-key): it has stopped; exit, so that the service manager
      // restarts it and the start refuses the old key, saying why.
      const running = await start(loadConfig(), { onFieldKeyChanged: () => process.exit(1) });
      process.stdout.write(`一卡通平台已启动：${running.url}\n`);
      onSignal(running.stop);
      return -1;
    }
    case 'demo':
      return demo();
    case 'migrate': {
      const [{ createCore }, { backupBeforeMigrating }, { migrate }] = await Promise.all([import('./server.ts'), import('./core/backup.ts'), import('./core/db.ts')]);
      const core = createCore(loadConfig());
      const kept = await backupBeforeMigrating(core.db, path.join(core.config.dataDir, 'backups'), core.config.backupKeep);
      if (kept) process.stdout.write(`迁移前已备份到 ${kept}\n`);
      const applied = await migrate(core.db);
      await core.db.destroy();
      process.stdout.write(applied.length ? `已执行迁移：\n${applied.join('\n')}\n` : '数据库已是最新\n');
      return 0;
    }
    case 'create-admin': {
      const { values } = parseArgs({ args: rest, options: { username: { type: 'string' }, name: { type: 'string' }, region: { type: 'string' } } });
      if (!values.username || !values.region || !/^[a-z][a-z0-9_]{2,39}$/.test(values.username)) {
        process.stderr.write('请提供 --username（小写字母开头，3–40 位小写字母、数字或下划线）和 --region 省/市/县\n');
        return 2;
      }
      const [{ createCore }, { migrate }, { createInitialAdmin }] = await Promise.all([import('./server.ts'), import('./core/db.ts'), import('./core/users.ts')]);
      const core = createCore(loadConfig());
      try {
        await migrate(core.db);
        const password = await createInitialAdmin(core, { username: values.username, displayName: values.name || values.username, regionNames: values.region.split('/').map((s) => s.trim()).filter(Boolean) });
        process.stdout.write(`已创建系统管理员 ${values.username}\n初始密码（仅显示这一次，首次登录后须修改并绑定动态口令）：${password}\n`);
        return 0;
      } finally {
        await core.db.destroy();
      }
    }
    case 'verify-audit': {
      let keyFile: string | undefined;
      try {
        keyFile = parseArgs({ args: rest, options: { 'key-file': { type: 'string' } } }).values['key-file'];
      } catch {
        process.stderr.write('用法：ykt verify-audit [--key-file 审计密钥文件]\n');
        return 2;
      }
      const config = loadAuditVerifierConfig(process.env, keyFile);
      const [{ createDb }, { checkAuditLog }] = await Promise.all([import('./core/db.ts'), import('./core/audit-anchor.ts')]);
      const db = createDb(config.databaseUrl);
      try {
        const result = await checkAuditLog(db, config, [], 'ykt verify-audit');
        for (const note of result.notes) process.stdout.write(`注意：${note}\n`);
        if (!result.ok) {
          process.stdout.write(`审计日志异常：${result.problem}（此前 ${result.checked} 条完好）\n`);
          return 1;
        }
        process.stdout.write(`审计日志完整：已校验 ${result.checked} 条记录，哈希链无断裂，编号连续\n`);
        for (const a of result.archives) process.stdout.write(`迁入的${a.county}原审计日志完整：已校验 ${a.checked} 条记录\n`);
        if (result.previous) process.stdout.write(`上次校验的锚点（第 ${result.previous.lastId} 号）仍在且未变\n`);
        if (result.anchor) process.stdout.write(`新锚点：第 ${result.anchor.lastId} 号，哈希 ${result.anchor.lastHash}（请另行保存）\n`);
        if (result.anchorError) {
          process.stderr.write(`${result.anchorError}\n`);
          return 1;
        }
        return 0;
      } finally {
        await db.destroy();
      }
    }
    case 'audit-key': {
      const { auditKey } = loadAuditVerifierConfig(process.env);
      process.stderr.write(
        [
          `审计密钥（HMAC-SM3，指纹 ${auditKeyId(auditKey)}）。供审计机关或审计管理员核验审计日志：`,
          '  ykt verify-audit --key-file 密钥文件，或按平台帮助页 /help/formats/audit-chain 用自备的 SM3/HMAC 工具重新计算哈希链。',
          '它解不开任何加密字段，也推不出 YKT_SECRET_KEY；但持有它就能算出通过校验的记录，',
          '所以不要交给数据库管理员，也不要存入数据库。保存到文件：ykt audit-key > audit.key',
          '',
        ].join('\n'),
      );
      process.stdout.write(`${auditKey.toString('hex')}\n`);
      return 0;
    }
    case 'backup': {
      const [{ createCore }, { isPostgres }, { backupSqlite }] = await Promise.all([import('./server.ts'), import('./core/db.ts'), import('./core/backup.ts')]);
      const core = createCore(loadConfig());
      try {
        if (isPostgres(core.db)) {
          process.stderr.write('PostgreSQL 数据库请用 pg_dump 备份（见 README）\n');
          return 2;
        }
        const { file, bytes, manifest } = await backupSqlite(core.db, path.join(core.config.dataDir, 'backups'), core.config.backupKeep, new Date(), 'manual');
        process.stdout.write(`已备份到 ${file}（${(bytes / 1048576).toFixed(1)} MB）\nSM3：${manifest.sm3}\n`);
        if (manifest.audit) process.stdout.write(`审计日志末条：第 ${manifest.audit.lastId} 号，共 ${manifest.audit.count} 条（记入 ${file}.json）\n`);
        return 0;
      } finally {
        await core.db.destroy();
      }
    }
    case 'restore': {
      const [file] = rest;
      if (!file) {
        process.stderr.write('用法：ykt restore <备份文件>（如 data/backups/ykt-20261206-030000.sqlite，旁边须有同名的 .json 校验文件）\n');
        return 2;
      }
      const { RestoreError, restoreSqlite } = await import('./core/backup.ts');
      try {
        const restored = await restoreSqlite(loadAuditVerifierConfig(process.env), file);
        process.stdout.write(`已从 ${file} 恢复（备份时间 ${restored.manifest.createdAt}，SM3 核对一致）\n`);
        process.stdout.write(`审计日志完整：已校验 ${restored.auditRows} 条记录，末条与备份时记下的一致\n`);
        if (restored.keptAside) process.stdout.write(`原数据库已另存为 ${restored.keptAside}\n`);
        if (restored.previousAnchor) process.stdout.write(`原锚点文件已另存为 ${restored.previousAnchor}：备份之后的审计记录不在恢复的库中，请告知审计管理员\n`);
        return 0;
      } catch (err) {
        if (!(err instanceof RestoreError)) throw err;
        process.stderr.write(`${err.message}\n`);
        return 1;
      }
    }
    case 'bank-sim':
      return bankSim(rest);
    case 'migrate-to-postgres':
      return migrateToPostgres(rest);
    case 'rotate-key':
      return rotateKey(rest);
    case 'rotate-signing-key':
      return rotateSigningKeyCommand();
    case '--version':
    case 'version': {
      const { appPath } = await import('./core/app-root.ts');
      const { version } = JSON.parse(fs.readFileSync(appPath('package.json'), 'utf8')) as { version: string };
      // The single executable names its build (scripts/sea-main.cjs); the source install runs on the machine's Node.
      const build = process.env.YKT_BUILD_ID ? `单文件版，构建 ${process.env.YKT_BUILD_ID}` : '源代码安装';
      process.stdout.write(`ykt ${version}（${build}，Node ${process.versions.node}）\n`);
      const notices = appPath('THIRD-PARTY-LICENSES.txt');
      if (fs.existsSync(notices)) process.stdout.write(`所含第三方软件及其许可证：${notices}\n`);
      return 0;
    }
    case 'bench': {
      const { runBench } = await import('../bench/run.ts');
      return runBench(rest);
    }
    default:
      process.stdout.write(`${USAGE}\n`);
      return command === undefined || ['--help', '-h', 'help'].includes(command) ? 0 : 2;
  }
}

/**
 * `ykt rotate-key`: the field key changed with every instance stopped (docs/operations.md, section 3). The old key is
 * YKT_SECRET_KEY, the new one is read from a file (not from the command line, which other users of the machine can
 * see); the audit key must be pinned first, so that the chain keeps verifying. On SQLite a backup is taken first.
 */
async function rotateKey(args: string[]): Promise<number> {
  let values: { 'new-key-file'?: string; 'instances-stopped'?: boolean };
  try {
    values = parseArgs({ args, options: { 'new-key-file': { type: 'string' }, 'instances-stopped': { type: 'boolean' } } }).values;
  } catch {
    values = {};
  }
  if (!values['new-key-file']) {
    process.stderr.write('用法：ykt rotate-key --new-key-file 新密钥文件 [--instances-stopped]（旧密钥在 YKT_SECRET_KEY 中）\n');
    return 2;
  }
  if (!process.env.YKT_AUDIT_KEY) {
    process.stderr.write('更换密钥前须固定审计密钥：执行 ykt audit-key > audit.key，把其中的值设为 YKT_AUDIT_KEY（服务的环境中也要设置），审计日志才能在新密钥下继续校验。未做任何更改。\n');
    return 2;
  }
  const newKey = fs.readFileSync(values['new-key-file'], 'utf8').trim();
  const config = loadConfig();
  if (newKey.length < 32 || newKey === config.secretKey) {
    process.stderr.write(newKey === config.secretKey ? '新密钥与 YKT_SECRET_KEY 相同，无需更换\n' : '新密钥至少 32 个字符（建议 32 个随机字节的 64 位十六进制）\n');
    return 2;
  }
  const [{ createCore }, { composeRekeyers }, db, { checkFieldKey }, { KeyRotationError, rotateFieldKey }, { backupSqlite, servingProcess }, { createFieldCrypto }] = await Promise.all([
    import('./server.ts'),
    import('./app.ts'),
    import('./core/db.ts'),
    import('./core/key-check.ts'),
    import('./core/key-rotation.ts'),
    import('./core/backup.ts'),
    import('./core/crypto.ts'),
  ]);
  const core = createCore(config);
  try {
    if ((await db.pendingMigrations(core.db)).pending.length > 0) {
      process.stderr.write('数据库尚未迁移到本版本：请先执行 ykt migrate。未做任何更改。\n');
      return 1;
    }
    if (db.isPostgres(core.db)) {
      if (!values['instances-stopped']) {
        process.stderr.write('PostgreSQL 部署：请先停止所有实例，再加 --instances-stopped 确认后执行（仍在运行的实例在发现密钥更换前的一分钟内可能用旧密钥写入）。未做任何更改。\n');
        return 2;
      }
    } else {
      const pid = servingProcess(path.resolve(config.databaseUrl));
      if (pid !== null) {
        process.stderr.write(`服务正在使用数据库 ${config.databaseUrl}（进程 ${pid}）：请先停止服务。未做任何更改。\n`);
        return 1;
      }
    }
    await checkFieldKey(core);
    if (!db.isPostgres(core.db)) {
      const { file } = await backupSqlite(core.db, path.join(config.dataDir, 'backups'), config.backupKeep, new Date(), 'before-key-rotation');
      process.stdout.write(`已先备份到 ${file}（仍用旧密钥加密）\n`);
    }
    process.stdout.write('正在改用新密钥（一个事务，中途失败则不做任何更改）：\n');
    await rotateFieldKey(core, createFieldCrypto(newKey), composeRekeyers(core), (d) => {
      if (d.rows > 0) process.stdout.write(`  ${d.table}.${d.column}：${d.rows} 行\n`);
    });
    process.stdout.write(
      [
        '已改用新密钥（一个事务内完成，已记入审计日志）。',
        '请把服务环境中的 YKT_SECRET_KEY 换成新密钥后再启动；用旧密钥启动的实例会拒绝运行。',
        '旧密钥须与此前的备份一同保存，直到这些备份全部过期：它们仍是用旧密钥加密的。',
        '',
      ].join('\n'),
    );
    return 0;
  } catch (err) {
    if (!(err instanceof KeyRotationError)) throw err;
    process.stderr.write(`${err.message}\n`);
    return 1;
  } finally {
    await core.db.destroy();
  }
}

/**
 * `ykt rotate-signing-key`: a new SM2 key pair signs the banks' files from now on (core/signing.ts); the old one stays,
 * retired, for checking what it signed. Instances running meanwhile sign with the new pair at their next file.
 */
async function rotateSigningKeyCommand(): Promise<number> {
  const [{ createCore }, db, { checkFieldKey }, { rotateSigningKey }] = await Promise.all([import('./server.ts'), import('./core/db.ts'), import('./core/key-check.ts'), import('./core/signing.ts')]);
  const core = createCore(loadConfig());
  try {
    if ((await db.pendingMigrations(core.db)).pending.length > 0) {
      process.stderr.write('数据库尚未迁移到本版本：请先执行 ykt migrate。未做任何更改。\n');
      return 1;
    }
    await checkFieldKey(core);
    const { retired, current } = await rotateSigningKey(core);
    process.stdout.write(
      [
        `已停用指纹为 ${retired.fingerprint} 的签名密钥对（用它签过的文件仍可核对）。`,
        `此后以新密钥对签名，公钥指纹：${current.fingerprint}`,
        '请把新公钥（代发银行“代发文件与回盘”页面可下载 PEM）和指纹书面通知各代发银行。已记入审计日志。',
        '',
      ].join('\n'),
    );
    return 0;
  } finally {
    await core.db.destroy();
  }
}

/**
 * `ykt migrate-to-postgres`: the county's SQLite database (DATABASE_URL / YKT_DATA_DIR, its key YKT_SECRET_KEY) moved
 * into a central PostgreSQL deployment (docs/operations.md section 6, core/county-move.ts). The deployment's keys are
 * read from files, as rotate-key reads the new key; without them the deployment uses the county's key.
 */
async function migrateToPostgres(args: string[]): Promise<number> {
  let parsed: { values: { 'target-key-file'?: string; 'target-audit-key-file'?: string; 'username-prefix'?: string }; positionals: string[] };
  try {
    parsed = parseArgs({ args, allowPositionals: true, options: { 'target-key-file': { type: 'string' }, 'target-audit-key-file': { type: 'string' }, 'username-prefix': { type: 'string', default: '' } } });
  } catch {
    parsed = { values: {}, positionals: [] };
  }
  const [url] = parsed.positionals;
  if (!url || !/^postgres(ql)?:\/\//.test(url) || parsed.positionals.length !== 1) {
    process.stderr.write('用法：ykt migrate-to-postgres postgres://用户@主机/库 [--target-key-file 中心密钥文件] [--target-audit-key-file 中心审计密钥文件] [--username-prefix 前缀]\n');
    return 2;
  }
  const prefix = parsed.values['username-prefix'] ?? '';
  if (!/^[a-z0-9_]{0,12}$/.test(prefix)) {
    process.stderr.write('--username-prefix 只能是小写字母、数字和下划线，至多 12 个字符\n');
    return 2;
  }
  const config = loadConfig();
  const [{ createCore }, app, db, { fieldKeyStillMatches, checkFieldKey }, move, { servingProcess }, { createFieldCrypto }, { deriveAuditKey }, { formatYuan }] = await Promise.all([
    import('./server.ts'),
    import('./app.ts'),
    import('./core/db.ts'),
    import('./core/key-check.ts'),
    import('./core/county-move.ts'),
    import('./core/backup.ts'),
    import('./core/crypto.ts'),
    import('./core/audit-key.ts'),
    import('./core/money.ts'),
  ]);
  const refuse = (message: string, code = 1) => {
    process.stderr.write(`${message}\n`);
    return code;
  };
  const targetKey = parsed.values['target-key-file'] ? fs.readFileSync(parsed.values['target-key-file'], 'utf8').trim() : config.secretKey;
  if (targetKey.length < 32) return refuse('中心密钥至少 32 个字符', 2);
  const targetAuditKey = parsed.values['target-audit-key-file'] ? parseAuditKey(fs.readFileSync(parsed.values['target-audit-key-file'], 'utf8').trim(), '--target-audit-key-file') : deriveAuditKey(targetKey);
  const source = createCore(config);
  const target = { db: db.createDb(url), config, crypto: createFieldCrypto(targetKey) };
  try {
    if (db.isPostgres(source.db)) return refuse('本县的数据库已是 PostgreSQL：此命令迁移的是县的 SQLite 数据库（DATABASE_URL 或 YKT_DATA_DIR 指向它）', 2);
    const pid = servingProcess(path.resolve(config.databaseUrl));
    if (pid !== null) return refuse(`服务正在使用数据库 ${config.databaseUrl}（进程 ${pid}）：请先停止县的服务。未做任何更改。`);
    if ((await db.pendingMigrations(source.db)).pending.length > 0) return refuse('县的数据库尚未迁移到本版本：请先执行 ykt migrate。未做任何更改。');
    if (!(await fieldKeyStillMatches(source))) return refuse('YKT_SECRET_KEY 不是县的数据库所用的密钥。未做任何更改。');
    let there: { applied: number; pending: string[] };
    try {
      there = await db.pendingMigrations(target.db);
    } catch (err) {
      return refuse(`无法连接中心数据库（${(err as Error).message}）：请核对地址、用户和网络。未做任何更改。`);
    }
    if (there.applied === 0) {
      await db.migrate(target.db);
      process.stdout.write('中心数据库是空的：已按本版本建表\n');
    } else if (there.pending.length > 0) {
      return refuse(`中心部署尚未升级到本版本（缺 ${there.pending.length} 个迁移）：请先升级中心部署，再用同一版本迁移。未做任何更改。`);
    }
    const known = new Set((await source.db('knex_migrations').pluck('name')) as string[]);
    const newer = ((await target.db('knex_migrations').pluck('name')) as string[]).filter((n) => !known.has(n));
    if (newer.length) return refuse(`中心部署的版本比本程序新（多 ${newer.length} 个迁移）：请用中心部署的版本先升级县的数据库，再迁移。未做任何更改。`);
    await checkFieldKey(target);
    process.stdout.write(`正在把 ${config.databaseUrl} 迁入中心部署（一个事务，中途失败则中心部署不留任何数据）：\n`);
    const report = await move.moveCounty({
      source: source.db,
      sourceFile: path.resolve(config.databaseUrl),
      sourceCrypto: source.crypto,
      sourceAuditKey: config.auditKey,
      target: target.db,
      targetCrypto: target.crypto,
      targetAuditKey,
      modules: app.composeMoves(source),
      rekeyers: app.composeRekeyers(source),
      options: { usernamePrefix: prefix },
      onTable: (table, rows) => {
        if (rows > 0) process.stdout.write(`  ${table}：${rows} 行\n`);
      },
    });
    process.stdout.write(
      [
        `已迁入：${report.countyName}（中心部署中的地区编号 ${report.countyId}，迁入记录第 ${report.moveId} 号）。`,
        `编号顺延 ${report.offset}；共 ${report.tables.reduce((s, t) => s + t.rows, 0)} 行，${report.rounds} 个批次、明细金额合计 ${formatYuan(report.linesFen)} 元；迁入前后逐表行数和 ${report.figures} 项金额、笔数合计一致。`,
        ...report.shared.map((s) => `  与中心部署已有的记录对应（未复制）：${s.table} ${s.rows} 行`),
        ...report.leftBehind.map((l) => `  未带入：${l.table} ${l.rows} 行（${l.reason}）`),
        `审计日志 ${report.auditRows} 条已原样归档并用县的审计密钥校验通过；中心部署的审计日志记下了这次迁入（county.move）。`,
        report.reencrypted ? '加密字段已改用中心部署的密钥。' : '中心部署与县使用同一字段密钥，加密字段原样迁入。',
        prefix ? `迁入的用户名都加了前缀 ${prefix}，请通知各用户。` : '',
        '县的 SQLite 数据库未做改动：请保留它和它的备份，县的服务不要再启动。',
        '',
      ]
        .filter((line, i, all) => line !== '' || i === all.length - 1)
        .join('\n'),
    );
    return 0;
  } catch (err) {
    if (!(err instanceof move.CountyMoveError)) throw err;
    return refuse(err.message);
  } finally {
    await source.db.destroy();
    await target.db.destroy();
  }
}

/** The demo county on an SQLite file under YKT_DATA_DIR (./data), with a generated secret kept beside it. */
async function demo(): Promise<number> {
  const [{ start }, { DEFAULT_DEMO_PASSWORD, DEMO_USERS, seedDemo }, { passwordPolicyError }] = await Promise.all([import('./server.ts'), import('../seeds/demo.ts'), import('./core/auth/password.ts')]);
  const dataDir = path.resolve(process.env.YKT_DATA_DIR || 'data');
  fs.mkdirSync(dataDir, { recursive: true });
  const keyFile = path.join(dataDir, 'demo-secret.key');
  if (!process.env.YKT_SECRET_KEY && !fs.existsSync(keyFile)) fs.writeFileSync(keyFile, crypto.randomBytes(32).toString('hex'), { mode: 0o600 });
  const password = process.env.YKT_DEMO_PASSWORD || DEFAULT_DEMO_PASSWORD;
  const policy = passwordPolicyError(password);
  if (policy) {
    process.stderr.write(`YKT_DEMO_PASSWORD 不符合密码规则：${policy}\n`);
    return 2;
  }
  const config = loadConfig(
    { ...process.env, YKT_SECRET_KEY: process.env.YKT_SECRET_KEY || fs.readFileSync(keyFile, 'utf8').trim(), DATABASE_URL: process.env.DATABASE_URL || path.join(dataDir, 'ykt-demo.sqlite') },
    { demo: true },
  );
  const running = await start(config, { beforeListen: (core) => seedDemo(core, password, { people: true }) });
  const lines = [
    '',
    `一卡通平台（演示县）已启动：${running.url}`,
    `数据库：${config.databaseUrl}`,
    '演示账号（演示模式不需要动态口令）：',
    ...DEMO_USERS.map((u) => `  ${u.username.padEnd(12)} ${u.label}`),
    `密码：${process.env.YKT_DEMO_PASSWORD ? '（YKT_DEMO_PASSWORD 的值）' : password}`,
    '按 Ctrl+C 停止。',
    '',
  ];
  process.stdout.write(lines.join('\n'));
  onSignal(running.stop);
  return -1;
}

function onSignal(stop: () => Promise<void>): void {
  const handler = () => {
    stop().then(() => process.exit(0), () => process.exit(1));
  };
  process.once('SIGINT', handler);
  process.once('SIGTERM', handler);
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (err) => {
    if (err instanceof ConfigError) process.stderr.write(`${err.message}\n`);
    else if (err instanceof ValidationError) process.stderr.write(`${Object.values(err.fieldErrors).join('；')}\n`);
    else process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
