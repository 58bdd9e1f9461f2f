import { PaddockError } from '../core/errors.js';

/**
 * What Paddock runs with more privilege than the agent (the init, `paddock verify`'s fallback
 * probe) must not find a program, a library or a start-up file where the agent can write: the
 * image's PATH starts with ~/.local/bin and ~/.npm-global/bin, and the sandbox's environment
 * reaches every exec. These are the fixed pieces such execs use instead.
 */

/** The image's system folders only: a non-root agent cannot write them. */
export const SYSTEM_PATH = '/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * Variables that make a dynamic loader, libc or a runtime load code or data from a path: set for
 * the whole sandbox, they would reach the init's own shell (which runs as root, and which no exec
 * option can shield), so a sandbox cannot be created with them.
 */
const LOADER_VARIABLE = /^(LD_[A-Z_]+|GCONV_PATH|GETCONF_DIR|HOSTALIASES|LOCPATH|NLSPATH|MALLOC_TRACE|RESOLV_HOST_CONF|GLIBC_TUNABLES|NODE_OPTIONS|NODE_PATH|BASH_ENV|PYTHONSTARTUP|PYTHONPATH|PERL5OPT|PERL5LIB|RUBYOPT)$/;

/** The names in env that Paddock refuses for a sandbox (see LOADER_VARIABLE). */
export function loaderVariables(env: Readonly<Record<string, string>>): string[] {
  return Object.keys(env).filter((name) => LOADER_VARIABLE.test(name)).sort();
}

/**
 * Paddock's own variables: the init keeps them (it drops every other one) and reads them as root,
 * and some decide how it protects the sandbox (PADDOCK_UNMOUNT_EVENTS=1 on gVisor would turn the
 * guard's timed looks off). Paddock sets those it means to; the user's environment sets none.
 */
const PADDOCK_VARIABLE = /^PADDOCK_/;

/**
 * Fails when env sets a variable that would reach the init's root shell as more than a value: a
 * loader variable, or one of Paddock's own (checked at create, before anything exists).
 */
export function refuseSandboxEnv(env: Readonly<Record<string, string>>): void {
  const loaders = loaderVariables(env);
  const one = (names: readonly string[]) => names.length === 1;
  if (loaders.length) {
    throw new PaddockError(
      `${loaders.join(', ')} cannot be set for a whole sandbox: the sandbox's own root helpers would load code from where ${one(loaders) ? 'it points' : 'they point'}, and the agent can write there.`,
      `Set ${one(loaders) ? 'it' : 'them'} for one command instead ("paddock exec SANDBOX -- env ${loaders[0]}=… COMMAND"), or in the agent's shell start-up file.`,
    );
  }
  const own = Object.keys(env).filter((name) => PADDOCK_VARIABLE.test(name)).sort();
  if (own.length) {
    throw new PaddockError(
      `${own.join(', ')} cannot be set for a sandbox: PADDOCK_* variables are Paddock's own, read by the sandbox's init as root to decide how it protects the sandbox.`,
      `Remove ${one(own) ? 'it' : 'them'} from -e, --env-file or the policy's env (for one command: "paddock exec SANDBOX -- env ${own[0]}=… COMMAND").`,
    );
  }
}

/**
 * The environment of an exec that runs as root: every variable the container sets is overridden
 * (Docker keeps the container's environment under an exec's own), PATH is the system folders'.
 */
export function rootExecEnv(containerEnv: readonly string[] | undefined): Record<string, string> {
  const env: Record<string, string> = {};
  for (const entry of containerEnv ?? []) {
    const name = entry.slice(0, entry.indexOf('='));
    if (name) env[name] = '';
  }
  return { ...env, PATH: SYSTEM_PATH, HOME: '/root', LANG: 'C' };
}
