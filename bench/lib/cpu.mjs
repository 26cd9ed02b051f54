import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

/** Clock ticks per second of /proc/<pid>/stat's utime and stime (`getconf CLK_TCK`, usually 100). */
export function clockTicksPerSecond() {
  try {
    const ticks = Number.parseInt(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim(), 10);
    if (Number.isFinite(ticks) && ticks > 0) return ticks;
  } catch {
    // getconf missing: Linux's USER_HZ is 100 on every common platform.
  }
  return 100;
}

/** `/proc/<pid>/stat` fields, parsed after the command name (which may hold spaces or parens). */
function readStat(pid) {
  let text;
  try {
    text = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined;
  }
  const close = text.lastIndexOf(")");
  const comm = text.slice(text.indexOf("(") + 1, close);
  // After ") ": state(3) ppid(4) ... utime(14) stime(15), counting from pid = field 1.
  const fields = text.slice(close + 2).split(" ");
  return { pid, comm, ppid: Number(fields[1]), utime: Number(fields[11]), stime: Number(fields[12]) };
}

function readCmdline(pid) {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
  } catch {
    return "";
  }
}

/** Pids of the workerd processes descending from `rootPid` (this Node process by default). */
export function findWorkerdPids(rootPid = process.pid) {
  const stats = new Map();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readStat(Number(entry));
    if (stat) stats.set(stat.pid, stat);
  }
  const descendsFromRoot = (pid) => {
    for (let current = stats.get(pid), hops = 0; current && hops < 64; hops++) {
      if (current.ppid === rootPid) return true;
      current = stats.get(current.ppid);
    }
    return false;
  };
  return [...stats.values()]
    .filter((stat) => descendsFromRoot(stat.pid))
    .filter((stat) => stat.comm.includes("workerd") || readCmdline(stat.pid).includes("workerd"))
    .map((stat) => stat.pid);
}

/** User + system CPU ticks of the given processes (all their threads), summed. */
export function cpuTicks(pids) {
  let total = 0;
  for (const pid of pids) {
    const stat = readStat(pid);
    if (!stat) throw new Error(`workerd process ${pid} is gone`);
    total += stat.utime + stat.stime;
  }
  return total;
}
