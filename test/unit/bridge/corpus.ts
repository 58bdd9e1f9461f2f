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
}

const pemBody = Array.from({ length: 6 }, (_, i) => r(64 - i)).join('\n');

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

/** A value Paddock knows to be secret (from a hidden .env), with no recognisable shape. */
export const KNOWN_SECRET = 'plain-looking-but-secret-4711';
