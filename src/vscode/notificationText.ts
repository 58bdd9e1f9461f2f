// Text for VS Code's notifications, which turn "[label](command:…)" (and http(s):, file:) in a
// message into a link that runs the command with its arguments when clicked. Messages name files,
// branches, hosts and containers that the sandbox chose, so no message may hold such a link. Pure:
// no `vscode` import (notify.ts applies it to every notification).

/** The link syntax of VS Code's notifications (src/vs/base/common/linkedText.ts, VS Code 1.104). */
export const NOTIFICATION_LINK = /\[([^\]]+)\]\(((?:https?:\/\/|command:|file:)[^)\s]+)(?: (["'])(.+?)(\3))?\)/gi;

/**
 * The message with every "](" broken as "] (": the text reads the same and nothing in it is a link.
 * VS Code makes line breaks spaces before it looks for links, so only a literal "](" can start one.
 */
export function inertLinks(message: string): string {
  return message.replace(/\]\(/g, '] (');
}
