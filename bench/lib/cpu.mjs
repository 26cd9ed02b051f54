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

/**
 * Busy CPU ticks of the whole machine (all cores: user, nice, system, irq, softirq, steal from
 * the first line of /proc/stat), or null where /proc/stat is unreadable. With the workerd ticks and
 * this process's own CPU it tells how much other processes took during a window: a benchmark on a
 * shared machine should say when it was not alone.
 */
export function machineBusyTicks() {
  try {
    const line = readFileSync("/proc/stat", "utf8").split("\n", 1)[0];
    const [, user, nice, system, _idle, _iowait, irq, softirq, steal] = line.trim().split(/\s+/).map(Number);
    return user + nice + system + irq + softirq + (steal || 0);
  } catch {
    return null;
  }
}

/**
 * Starts a CPU window over workerd, this process (load generator and receiver) and the rest of
 * the machine; `stop()` returns the ticks each used, converted to milliseconds.
 */
export function cpuWindow(pids, ticksPerSecond) {
  const toMs = (ticks) => (ticks * 1000) / ticksPerSecond;
  const workerdBefore = pids.length > 0 ? cpuTicks(pids) : null;
  const machineBefore = machineBusyTicks();
  const selfBefore = process.cpuUsage();
  const startedAt = performance.now();
  return {
    stop() {
      const wallMs = performance.now() - startedAt;
      const self = process.cpuUsage(selfBefore);
      const selfMs = (self.user + self.system) / 1000;
      const workerdTicks = workerdBefore === null ? null : cpuTicks(pids) - workerdBefore;
      const machineAfter = machineBusyTicks();
      const machineMs =
        machineBefore === null || machineAfter === null ? null : toMs(machineAfter - machineBefore);
      const workerdMs = workerdTicks === null ? null : toMs(workerdTicks);
      const otherMs =
        machineMs === null || workerdMs === null ? null : Math.max(0, machineMs - workerdMs - selfMs);
      return {
        wallMs,
        workerdTicks,
        workerdMs,
        selfMs,
        otherMs,
        otherCores: otherMs === null ? null : otherMs / wallMs,
      };
    },
  };
}
