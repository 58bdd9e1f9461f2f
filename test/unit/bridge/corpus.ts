// The masking corpus: every secret format the bridge must mask, as it appears in real output.
// Values are assembled at run time so no file in the repository looks like a leaked key.
const r = (n: number, alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789') =>
  Array.from({ length: n }, (_, i) => alphabet[(i * 7 + n) % alphabet.length]).join('');
const upper = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

export interface CorpusEntry {
  readonly name: string;
  /** A line (or block) of output containing the secret. */
  readonly text: string;
  /** The part that must never come back. */
  readonly secret: string;
  /** A part that must stay readable (the label, the host): masking hides the value, not what it is. */
  readonly keep?: string;
}

const pemBody = Array.from({ length: 6 }, (_, i) => r(64 - i)).join('\n');
const hex = '0123456789abcdef';
const lower = 'abcdefghijklmnopqrstuvwxyz';
const b64 = (text: string) => Buffer.from(text).toString('base64');
const uuid = (n: number) => `${r(8, hex + n)}-${r(4, hex)}-4${r(3, hex)}-a${r(3, hex)}-${r(12, hex)}`;

export const CORPUS: readonly CorpusEntry[] = [
  { name: 'env assignment', text: 'DB_PASSWORD=Zq8rT2vLm9xK', secret: 'Zq8rT2vLm9xK' },
  { name: 'export with quotes', text: 'export API_KEY="qp3V7nR1sT5w"', secret: 'qp3V7nR1sT5w' },
  { name: 'YAML password', text: '  password: correct horse battery', secret: 'correct horse battery' },
  { name: 'YAML client_secret', text: 'client_secret: "yY7uI8oP9aS0"', secret: 'yY7uI8oP9aS0' },
  { name: 'JSON password', text: '{"user": "app", "password": "x9Kd2LmQ7vB3"}', secret: 'x9Kd2LmQ7vB3' },
  { name: 'JSON token with escapes', text: '{"access_token":"ab\\"cdEF12gh34"}', secret: 'cdEF12gh34' },
  { name: 'postgres URL', text: 'connecting to postgres://app:Pg5ecretW0rd@db:5432/app', secret: 'Pg5ecretW0rd' },
  { name: 'mysql URL', text: 'DSN mysql://root:My5qlRootPw@mysql/app', secret: 'My5qlRootPw' },
  { name: 'mongodb+srv URL', text: 'mongodb+srv://svc:M0ngoPassw0rd@cluster0.example.net/db', secret: 'M0ngoPassw0rd' },
  { name: 'redis URL', text: 'redis://default:R3disPa55word@cache:6379/0', secret: 'R3disPa55word' },
  { name: 'amqp URL', text: 'broker amqp://guest:Amqp5ecret9@rabbit:5672/', secret: 'Amqp5ecret9' },
  { name: 'Bearer header', text: 'Authorization: Bearer ' + r(40), secret: r(40) },
  { name: 'Basic header', text: 'authorization: Basic ' + Buffer.from('admin:Ba5icPassw0rd').toString('base64'), secret: Buffer.from('admin:Ba5icPassw0rd').toString('base64') },
  { name: 'curl -H header', text: `curl -H "Authorization: Bearer ${r(32)}" https://api.local`, secret: r(32) },
  { name: 'AWS key id', text: 'aws_access_key_id = AKIA' + r(16, upper), secret: 'AKIA' + r(16, upper) },
  { name: 'AWS secret', text: 'aws_secret_access_key = ' + r(40), secret: r(40) },
  { name: 'AWS secret env', text: 'AWS_SECRET_ACCESS_KEY=' + r(40), secret: r(40) },
  { name: 'GitHub ghp', text: 'token ghp_' + r(36), secret: 'ghp_' + r(36) },
  { name: 'GitHub gho', text: 'using gho_' + r(36) + ' for clone', secret: 'gho_' + r(36) },
  { name: 'GitHub fine-grained', text: 'github_pat_' + r(22) + '_' + r(59), secret: r(59) },
  { name: 'Anthropic', text: 'ANTHROPIC_KEY_IN_LOG sk-ant-api03-' + r(80), secret: 'sk-ant-api03-' + r(80) },
  { name: 'OpenAI project', text: 'key=sk-proj-' + r(48), secret: r(48) },
  { name: 'OpenAI legacy', text: 'openai sk-' + r(48), secret: 'sk-' + r(48) },
  { name: 'Google', text: 'maps key AIza' + r(35), secret: 'AIza' + r(35) },
  { name: 'Slack bot', text: 'slack xoxb-' + r(12, '0123456789') + '-' + r(24), secret: r(24) },
  { name: 'Stripe live', text: 'charging with sk_live_' + r(24), secret: 'sk_live_' + r(24) },
  { name: 'JWT', text: 'cookie session=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.' + r(43), secret: r(43) },
  { name: 'PEM RSA key', text: `-----BEGIN RSA PRIVATE KEY-----\n${pemBody}\n-----END RSA PRIVATE KEY-----`, secret: pemBody.split('\n')[2] },
  { name: 'PEM PKCS8 key', text: `key:\n-----BEGIN PRIVATE KEY-----\n${pemBody}\n-----END PRIVATE KEY-----\nafter`, secret: pemBody.split('\n')[4] },
  { name: 'PEM OpenSSH key', text: `-----BEGIN OPENSSH PRIVATE KEY-----\n${pemBody}\n-----END OPENSSH PRIVATE KEY-----`, secret: pemBody.split('\n')[0] },
];


/** Formats found unmasked by attack suites (issue 11 section 3); one case per format, growing. */
export const STRUCTURE_CORPUS: readonly CorpusEntry[] = [
  // Cloud connection strings and signed URLs
  { name: 'Azure storage connection string', text: `DefaultEndpointsProtocol=https;AccountName=acct1;AccountKey=${b64(r(64))};EndpointSuffix=core.windows.net`, secret: b64(r(64)), keep: 'AccountName=acct1;AccountKey=' },
  { name: 'Azure Service Bus SharedAccessKey', text: `Endpoint=sb://ns1.servicebus.windows.net/;SharedAccessKeyName=RootManage;SharedAccessKey=${b64(r(32))}`, secret: b64(r(32)), keep: 'Endpoint=sb://ns1.servicebus.windows.net/' },
  { name: 'Azure SharedAccessSignature in a connection string', text: `BlobEndpoint=https://acct1.blob.core.windows.net/;SharedAccessSignature=sv=2022-11-02&ss=b&srt=o&sp=r&sig=${encodeURIComponent(b64(r(32)))}`, secret: encodeURIComponent(b64(r(32))), keep: 'BlobEndpoint=https://acct1.blob.core.windows.net/' },
  { name: 'Azure SAS URL sig=', text: `GET https://acct1.blob.core.windows.net/c/b.txt?sv=2022-11-02&se=2026-12-31T00%3A00%3A00Z&sp=r&sig=${encodeURIComponent(b64(r(33)))} 200`, secret: encodeURIComponent(b64(r(33))), keep: 'https://acct1.blob.core.windows.net/c/b.txt?sv=2022-11-02' },
  { name: 'S3 presigned URL', text: `https://bkt.s3.amazonaws.com/k.tgz?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date=20261201T000000Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host&X-Amz-Signature=${r(64, hex)}`, secret: r(64, hex), keep: 'X-Amz-Signature=' },
  { name: 'S3 presigned URL with a session token', text: `https://bkt.s3.amazonaws.com/k?X-Amz-Security-Token=${encodeURIComponent(b64(r(90)))}&X-Amz-Expires=60`, secret: encodeURIComponent(b64(r(90))).slice(0, 60), keep: 'X-Amz-Expires=60' },
  { name: 'GCS signed URL', text: `https://storage.googleapis.com/bkt/o?X-Goog-Algorithm=GOOG4-RSA-SHA256&X-Goog-Date=20261201T000000Z&X-Goog-Expires=900&X-Goog-Signature=${r(256, hex)}`, secret: r(256, hex).slice(0, 64), keep: 'X-Goog-Expires=900' },
  // Cookies
  { name: 'Set-Cookie header', text: `Set-Cookie: sessionid=${r(32)}; Path=/; HttpOnly; Secure`, secret: r(32), keep: 'Set-Cookie: sessionid=' },
  { name: 'Cookie request header', text: `Cookie: theme=dark; _session=${r(40)}; csrftoken=${r(30)}`, secret: r(40), keep: 'Cookie: theme=' },
  { name: 'curl --cookie', text: `curl --cookie 'sid=${r(28)}' https://app.local/me`, secret: r(28), keep: 'https://app.local/me' },
  { name: 'Netscape cookie jar', text: `.app.local\tTRUE\t/\tTRUE\t1893456000\tsession\t${r(36)}`, secret: r(36), keep: 'session' },
  // Credentials files in their own syntax
  { name: 'netrc on one line', text: `machine api.example.com login deploy password ${r(20)}`, secret: r(20), keep: 'machine api.example.com login deploy password' },
  { name: 'netrc one token per line', text: `machine git.example.com\n  login bot\n  password ${r(24)}`, secret: r(24), keep: 'login bot' },
  { name: 'pgpass', text: `db.internal:5432:appdb:appuser:${r(18)}`, secret: r(18), keep: 'db.internal:5432:appdb:appuser:' },
  { name: 'docker config.json auth', text: `{\n  "auths": {\n    "registry.example.com": {\n      "auth": "${b64(`robot:${r(20)}`)}"\n    }\n  }\n}`, secret: b64(`robot:${r(20)}`), keep: '"registry.example.com"' },
  { name: 'npmrc _auth', text: `//registry.example.com/:_auth=${b64(`ci:${r(20)}`)}`, secret: b64(`ci:${r(20)}`), keep: '//registry.example.com/' },
  // Kubernetes
  { name: 'Kubernetes Secret YAML data', text: `apiVersion: v1\nkind: Secret\ntype: Opaque\ndata:\n  username: ${b64('admin')}\n  connection: ${b64(`postgres://u:${r(16)}@db/app`)}\nmetadata:\n  name: db`, secret: b64(`postgres://u:${r(16)}@db/app`), keep: 'connection:' },
  { name: 'Kubernetes Secret JSON data', text: `{\n  "apiVersion": "v1",\n  "data": {\n    "api": "${b64(r(30))}"\n  },\n  "kind": "Secret"\n}`, secret: b64(r(30)), keep: '"api":' },
  { name: 'Kubernetes Secret compact JSON', text: `{"apiVersion":"v1","data":{"api":"${b64(r(31))}"},"kind":"Secret"}`, secret: b64(r(31)), keep: '"kind":"Secret"' },
  { name: 'kubeconfig client-key-data', text: `users:\n- name: admin\n  user:\n    client-key-data: ${b64(r(120))}`, secret: b64(r(120)).slice(0, 60), keep: 'client-key-data:' },
  { name: 'kubeconfig token', text: `- name: sa\n  user:\n    token: ${r(48)}`, secret: r(48), keep: 'token:' },
  // Webhooks
  { name: 'Slack webhook', text: `posting to https://hooks.slack.com/services/T0${r(8, upper)}/B0${r(8, upper)}/${r(24)}`, secret: r(24), keep: 'https://hooks.slack.com/services/' },
  { name: 'Discord webhook', text: `https://discord.com/api/webhooks/${r(18, '0123456789')}/${r(68)}`, secret: r(68), keep: 'https://discord.com/api/webhooks/' },
  { name: 'Teams webhook', text: `https://contoso.webhook.office.com/webhookb2/${uuid(1)}@${uuid(2)}/IncomingWebhook/${r(32, hex)}/${uuid(3)}`, secret: r(32, hex), keep: 'https://contoso.webhook.office.com/webhookb2/' },
  // Values a line below their label
  { name: 'YAML value on the next line', text: 'db:\n  password:\n    hunter2-value-Q7x', secret: 'hunter2-value-Q7x', keep: 'password:' },
  { name: 'log label then value', text: 'The generated admin password is:\nKq9-tRee-Lamp-Wx2', secret: 'Kq9-tRee-Lamp-Wx2', keep: 'The generated admin password is:' },
  { name: 'YAML block scalar under a secret name', text: `client_secret: |\n  ${r(40)}\nnext: 1`, secret: r(40), keep: 'next: 1' },
  // A private key whose BEGIN line is not in the output (log tail started inside it)
  { name: 'key body without BEGIN', text: `${pemBody.split('\n').slice(2).join('\n')}\n-----END RSA PRIVATE KEY-----`, secret: pemBody.split('\n')[3] },
  { name: 'key body without BEGIN, with log timestamps', text: `${pemBody.split('\n').slice(3).map((l) => `2026-12-01T09:00:00.000000000Z ${l}`).join('\n')}\n2026-12-01T09:00:00.000000000Z -----END PRIVATE KEY-----`, secret: pemBody.split('\n')[4] },
  // Vendor tokens from the ported gitleaks rules
  { name: 'Hugging Face', text: `HF hub login hf_${r(34, lower)}`, secret: r(34, lower) },
  { name: 'Shopify', text: `shop token shpat_${r(32, hex)}`, secret: r(32, hex) },
  { name: 'SendGrid', text: `mail via SG.${r(22)}.${r(43)}`, secret: r(43) },
  { name: 'DigitalOcean', text: `doctl auth init -t dop_v1_${r(64, hex)}`, secret: r(64, hex) },
  { name: 'Databricks', text: `host=x dapi${r(32, hex)}`, secret: r(32, hex) },
  { name: 'Linear', text: `linear lin_api_${r(40)}`, secret: r(40) },
  { name: 'Postman', text: `PMAK-${r(24, hex)}-${r(34, hex)}`, secret: r(34, hex) },
  { name: 'Sentry user token', text: `SENTRY sntryu_${r(64, hex)}`, secret: r(64, hex) },
  { name: 'Doppler', text: `dp.pt.${r(43, lower + '0123456789')}`, secret: r(43, lower + '0123456789') },
  { name: 'Twilio API key', text: `twilio SK${r(32, hex)}`, secret: r(32, hex) },
];

/** A value Paddock knows to be secret (from a hidden .env), with no recognisable shape. */
export const KNOWN_SECRET = 'plain-looking-but-secret-4711';
