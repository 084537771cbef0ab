using System.Diagnostics;
using System.Globalization;

/// <summary>
/// CPU time of this process and of the emulator (found as the process listening on the SQS URL's port, through /proc),
/// to report how much CPU each contender spends per message on both sides of the wire: the emulator shares the machine's
/// cores, so CPU the client spends is CPU the emulator loses.
/// </summary>
public sealed class CpuMeter
{
    private readonly int? _emulatorPid;

    public CpuMeter(int port) => _emulatorPid = FindListener(port);

    public bool KnowsEmulator => _emulatorPid is not null;

    /// <summary>The CPU time so far of this process and of the emulator (zero when it is unknown).</summary>
    public (TimeSpan Client, TimeSpan Emulator) Now()
    {
        using Process self = Process.GetCurrentProcess();
        return (self.TotalProcessorTime, EmulatorCpu());
    }

    /// <summary>The voluntary and involuntary context switches of this process's threads so far (0 off Linux).</summary>
    public static long ContextSwitches()
    {
        long total = 0;
        if (!Directory.Exists("/proc/self/task"))
        {
            return 0;
        }

        foreach (string task in Directory.EnumerateDirectories("/proc/self/task"))
        {
            try
            {
                foreach (string line in File.ReadLines(Path.Combine(task, "status")))
                {
                    if (line.StartsWith("voluntary_ctxt_switches:", StringComparison.Ordinal) || line.StartsWith("nonvoluntary_ctxt_switches:", StringComparison.Ordinal))
                    {
                        total += long.Parse(line[(line.IndexOf(':') + 1)..].Trim(), CultureInfo.InvariantCulture);
                    }
                }
            }
            catch (IOException)
            {
                // a thread that ended meanwhile
            }
        }

        return total;
    }

    private TimeSpan EmulatorCpu()
    {
        if (_emulatorPid is not int pid)
        {
            return TimeSpan.Zero;
        }

        try
        {
            // /proc/<pid>/stat: fields 14 and 15 (utime, stime) in clock ticks, counted after the ')' that ends the name.
            string stat = File.ReadAllText($"/proc/{pid}/stat");
            string[] fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            long ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
            return TimeSpan.FromSeconds(ticks / 100.0); // USER_HZ is 100 on Linux
        }
        catch (IOException)
        {
            return TimeSpan.Zero;
        }
    }

    /// <summary>The pid of the process listening on a TCP port (IPv4 or IPv6), or null.</summary>
    private static int? FindListener(int port)
    {
        if (!OperatingSystem.IsLinux())
        {
            return null;
        }

        HashSet<string> inodes = [];
        foreach (string table in (string[])["/proc/net/tcp", "/proc/net/tcp6"])
        {
            if (!File.Exists(table))
            {
                continue;
            }

            foreach (string line in File.ReadLines(table).Skip(1))
            {
                string[] f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                // local_address is ADDR:PORT in hex; state 0A is LISTEN; the inode is the tenth field.
                if (f.Length > 9 && f[3] == "0A" && int.Parse(f[1][(f[1].IndexOf(':') + 1)..], NumberStyles.HexNumber, CultureInfo.InvariantCulture) == port)
                {
                    inodes.Add($"socket:[{f[9]}]");
                }
            }
        }

        foreach (string dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), CultureInfo.InvariantCulture, out int pid))
            {
                continue;
            }

            try
            {
                foreach (string fd in Directory.EnumerateFileSystemEntries(Path.Combine(dir, "fd")))
                {
                    if (new FileInfo(fd).LinkTarget is { } target && inodes.Contains(target))
                    {
                        return pid;
                    }
                }
            }
            catch (Exception ex) when (ex is UnauthorizedAccessException or IOException)
            {
                // another user's process, or one that ended meanwhile
            }
        }

        return null;
    }
}
