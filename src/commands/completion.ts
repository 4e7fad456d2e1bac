/**
 * `pipeops completion bash|zsh|fish|powershell`: the shell's completion script, and the hidden
 * `pipeops complete -- <words>` it calls back to ask what may come next. Both through
 * @bomb.sh/tab (cac has no completions: cacjs/cac#81), which prints its own lines.
 */
import { RootCommand } from "@bomb.sh/tab";
import type { AnyCommand, Command, FlagSpec, Streams } from "../command.ts";
import { unknownShell } from "../errors.ts";
import { AUTH_ALIASES, type AuthName, authCommands, SHORTCUTS } from "./table.ts";

export const SHELLS = ["bash", "zsh", "fish", "powershell"] as const;
export type Shell = (typeof SHELLS)[number];

/** The command tree as tab completes it: `auth`, its commands and their flags, `completion` and its shells. */
async function completionTree(): Promise<RootCommand> {
  const root = new RootCommand();
  root.command("auth", "Manage authentication (login, logout, status, me, token, doctor)");
  const commands = new Map(await authCommands());
  // Each auth command, its aliases under auth, and the official CLI's names at the top level.
  const names: [string, AuthName][] = [
    ...[...commands.keys()].map((name) => [`auth ${name}`, name] as [string, AuthName]),
    ...Object.entries(AUTH_ALIASES).map(([alias, name]) => [`auth ${alias}`, name] as [string, AuthName]),
    ...Object.entries(SHORTCUTS).map(([shortcut, name]) => [shortcut, name] as [string, AuthName]),
  ];
  const withFlags = (path: string, command: AnyCommand) => {
    const leaf = root.command(path, command.summary);
    for (const flag of command.flags as readonly FlagSpec[]) {
      // tab names flags without their dashes; one that takes a value is completed with nothing.
      if (flag.value) leaf.option(flag.name.replace(/^--/, ""), flag.description, () => {}, flag.short?.replace(/^-/, ""));
      else leaf.option(flag.name.replace(/^--/, ""), flag.description, flag.short?.replace(/^-/, ""));
    }
    return leaf;
  };
  for (const [path, name] of names) withFlags(path, commands.get(name)!);
  withFlags("api", (await import("./api.ts")).command);
  const update = (await import("./update.ts")).command;
  withFlags("update", update);
  withFlags("update check", {
    ...update,
    summary: "Only say whether a newer pipeops is available",
    flags: update.flags.filter((flag) => flag.name !== "--yes"),
  });
  root.command("completion", "Print the shell completion script").argument("shell", (complete) => {
    for (const shell of SHELLS) complete(shell, `Completion script for ${shell}`);
  });
  return root;
}

export interface CompletionOptions {
  shell: Shell;
}

export interface CompletionResult {
  shell: Shell;
  tree: RootCommand;
}

export const command: Command<CompletionOptions, CompletionResult> = {
  name: "completion",
  summary: "Print the shell completion script (bash, zsh, fish, powershell)",
  usage: "<bash|zsh|fish|powershell>",
  flags: [],
  examples: [
    "source <(pipeops completion bash)",
    "pipeops completion zsh > ~/.zfunc/_pipeops",
    "pipeops completion fish > ~/.config/fish/completions/pipeops.fish",
  ],
  async parse(argv) {
    const [shell, ...rest] = argv;
    if (!SHELLS.includes(shell as Shell) || rest.length > 0) {
      throw unknownShell(SHELLS, rest.length === 0 ? shell : undefined);
    }
    return { shell: shell as Shell };
  },
  run: async (_ctx, { shell }) => ({ shell, tree: await completionTree() }),
  // tab writes the script itself (console.log, as our own stdout lines are written).
  render: (io: Streams, { shell, tree }) => {
    if (shell === "bash") io.stdout.write(BASH_WITHOUT_BASH_COMPLETION);
    tree.setup("pipeops", "pipeops", shell);
  },
};

/**
 * The script tab writes for bash calls bash-completion's _get_comp_words_by_ref, which a plain bash
 * (bash --norc, minimal images, macOS) does not have: there, the shell's own COMP_WORDS and
 * COMP_CWORD stand in for it. Defined only where it is missing; bash's dynamic scope lets it set
 * the caller's locals, as the helper does.
 */
const BASH_WITHOUT_BASH_COMPLETION = `# Without the bash-completion package, the words as bash itself splits them.
if ! declare -F _get_comp_words_by_ref >/dev/null 2>&1; then
_get_comp_words_by_ref() {
    cur=\${COMP_WORDS[COMP_CWORD]}
    prev=\${COMP_WORDS[COMP_CWORD-1]}
    words=("\${COMP_WORDS[@]}")
    cword=$COMP_CWORD
}
fi

`;

export interface CompleteOptions {
  words: string[];
}

export interface CompleteResult {
  words: string[];
  tree: RootCommand;
}

/** What the completion scripts call: `pipeops complete -- auth lo` prints `login` and `logout`. */
export const complete: Command<CompleteOptions, CompleteResult> = {
  name: "complete",
  summary: "What the shell completion scripts call",
  flags: [],
  examples: [],
  parse: async (argv) => ({ words: argv[0] === "--" ? argv.slice(1) : [...argv] }),
  run: async (_ctx, { words }) => ({ words, tree: await completionTree() }),
  render: (_io: Streams, { words, tree }) => tree.parse([...words]),
};
