using System.Runtime.InteropServices;
using System.Text;

// Hosts librdkafka's mock cluster: a Kafka-protocol broker (produce, fetch, metadata, consumer groups, offsets) living in
// the client library, bound to 127.0.0.1 on ports the OS picks. It prints its bootstrap address and, with --bootstrap-file,
// writes it there; then it lives until it is killed (SIGTERM/SIGINT end it cleanly).
// The mock has no CreateTopics API (topics are created on first use with 4 partitions). A test that needs a topic with
// another partition count writes a file `<name>.topic` holding `<topic> <partitions>` into the control directory; the host
// creates the topic through the mock's own API and deletes the file. A file `<name>.errors` holding
// `<api key> <error code> <count>` makes the next <count> requests of that API fail with that error (a fault a test needs,
// e.g. a commit refused because the group is rebalancing). Usage:
// With --port N (one broker only) the broker is reached at 127.0.0.1:N, a port the caller chose (see LoopbackPort): a test
// can kill this process and start another on the same address, as a broker restart looks to a client (its data is gone).
//   Switchboard.KafkaMockBroker [--brokers N] [--initial-rebalance-delay-ms N] [--bootstrap-file PATH] [--control-dir DIR] [--port N]
int brokers = 1;
int port = 0;
int rebalanceDelayMs = 100;
string? bootstrapFile = null;
string? controlDir = null;
for (int i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--brokers":
            brokers = int.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture);
            break;
        case "--initial-rebalance-delay-ms":
            rebalanceDelayMs = int.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture);
            break;
        case "--control-dir":
            controlDir = args[++i];
            break;
        case "--port":
            port = int.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture);
            break;
        case "--bootstrap-file":
            bootstrapFile = args[++i];
            break;
        default:
            Console.Error.WriteLine($"unknown argument {args[i]}");
            return 2;
    }
}

NativeLibrary.SetDllImportResolver(typeof(Native).Assembly, (name, _, _) => name == Native.Library ? Native.Load() : IntPtr.Zero);
IntPtr conf = Native.rd_kafka_conf_new();
Set(conf, "client.id", "switchboard-kafka-mock");
Set(conf, "log_level", "4"); // warnings and worse: the host has no bootstrap.servers of its own, and that is expected
StringBuilder error = new(512);
IntPtr handle = Native.rd_kafka_new(0 /* producer */, conf, error, (UIntPtr)error.Capacity);
if (handle == IntPtr.Zero)
{
    Console.Error.WriteLine($"rd_kafka_new failed: {error}");
    return 1;
}

IntPtr cluster = Native.rd_kafka_mock_cluster_new(handle, brokers);
if (cluster == IntPtr.Zero)
{
    Console.Error.WriteLine("rd_kafka_mock_cluster_new failed");
    return 1;
}

string bootstrap = Marshal.PtrToStringAnsi(Native.rd_kafka_mock_cluster_bootstraps(cluster))!;
using LoopbackPort? fixedPort = port == 0 ? null : new LoopbackPort(port, int.Parse(bootstrap[(bootstrap.LastIndexOf(':') + 1)..], System.Globalization.CultureInfo.InvariantCulture));
if (fixedPort is not null)
{
    if (brokers != 1)
    {
        Console.Error.WriteLine("--port needs a single broker");
        return 2;
    }

    fixedPort.Start();
    Native.rd_kafka_mock_broker_set_host_port(cluster, 1, "127.0.0.1", port);
    bootstrap = "127.0.0.1:" + port.ToString(System.Globalization.CultureInfo.InvariantCulture);
}

// A new consumer group waits this long for more members before its first assignment (Kafka's
// group.initial.rebalance.delay.ms; the mock's default is 3 s): short, so that tests start quickly.
Native.rd_kafka_mock_group_initial_rebalance_delay_ms(cluster, rebalanceDelayMs);
if (bootstrapFile is not null)
{
    string temp = bootstrapFile + ".tmp";
    File.WriteAllText(temp, bootstrap + "\n");
    File.Move(temp, bootstrapFile, overwrite: true);
}

Console.WriteLine(bootstrap);
Console.Out.Flush();

using ManualResetEventSlim stop = new();
using PosixSignalRegistration term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Set(); });
using PosixSignalRegistration interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; stop.Set(); });
if (controlDir is null)
{
    stop.Wait();
}
else
{
    Directory.CreateDirectory(controlDir);
    while (!stop.Wait(TimeSpan.FromMilliseconds(20)))
    {
        foreach (string request in Directory.GetFiles(controlDir, "*.topic"))
        {
            string[] parts = File.ReadAllText(request).Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            int created = parts.Length == 2 ? Native.rd_kafka_mock_topic_create(cluster, parts[0], int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture), 1) : -1;
            if (created != 0)
            {
                Console.Error.WriteLine($"creating topic from {Path.GetFileName(request)} failed: {created}");
                File.Move(request, request + ".failed", overwrite: true);
                continue;
            }

            File.Delete(request);
        }

        foreach (string request in Directory.GetFiles(controlDir, "*.errors"))
        {
            // `<api key> <error code> <count>`: the next <count> requests of that API, from any client, fail with that error.
            int[] parts = [.. File.ReadAllText(request).Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(p => int.Parse(p, System.Globalization.CultureInfo.InvariantCulture))];
            if (parts.Length != 3 || parts[2] < 1)
            {
                Console.Error.WriteLine($"bad error injection in {Path.GetFileName(request)}");
                File.Move(request, request + ".failed", overwrite: true);
                continue;
            }

            Native.rd_kafka_mock_push_request_errors_array(cluster, (short)parts[0], (UIntPtr)parts[2], Enumerable.Repeat(parts[1], parts[2]).ToArray());
            File.Delete(request);
        }
    }
}
Native.rd_kafka_mock_cluster_destroy(cluster);
Native.rd_kafka_destroy(handle);
return 0;

static void Set(IntPtr conf, string name, string value)
{
    StringBuilder error = new(512);
    if (Native.rd_kafka_conf_set(conf, name, value, error, (UIntPtr)error.Capacity) != 0)
    {
        throw new InvalidOperationException($"rd_kafka_conf_set {name}: {error}");
    }
}

internal static partial class Native
{
    internal const string Library = "librdkafka";

    /// <summary>
    /// Loads the librdkafka of the librdkafka.redist package the way Confluent.Kafka does: the glibc build first (it needs
    /// the system's libsasl2.so.3), then the statically linked centos8 build (Debian 12 has only libsasl2.so.2).
    /// </summary>
    internal static IntPtr Load()
    {
        string native = Path.Combine(AppContext.BaseDirectory, "runtimes", RuntimeInformation.RuntimeIdentifier.StartsWith("linux-arm64", StringComparison.Ordinal) ? "linux-arm64" : "linux-x64", "native");
        foreach (string candidate in new[] { "librdkafka.so", "centos8-librdkafka.so" })
        {
            if (NativeLibrary.TryLoad(Path.Combine(native, candidate), out IntPtr handle))
            {
                return handle;
            }
        }

        return NativeLibrary.Load("librdkafka");
    }

    [DllImport(Library)]
    internal static extern IntPtr rd_kafka_conf_new();

    [DllImport(Library, CharSet = CharSet.Ansi, BestFitMapping = false)]
    internal static extern int rd_kafka_conf_set(IntPtr conf, string name, string value, StringBuilder errstr, UIntPtr errstrSize);

    [DllImport(Library, CharSet = CharSet.Ansi, BestFitMapping = false)]
    internal static extern IntPtr rd_kafka_new(int type, IntPtr conf, StringBuilder errstr, UIntPtr errstrSize);

    [DllImport(Library)]
    internal static extern void rd_kafka_destroy(IntPtr rk);

    [DllImport(Library)]
    internal static extern IntPtr rd_kafka_mock_cluster_new(IntPtr rk, int brokerCount);

    [DllImport(Library)]
    internal static extern void rd_kafka_mock_cluster_destroy(IntPtr cluster);

    [DllImport(Library)]
    internal static extern IntPtr rd_kafka_mock_cluster_bootstraps(IntPtr cluster);

    [DllImport(Library, CharSet = CharSet.Ansi, BestFitMapping = false)]
    internal static extern int rd_kafka_mock_topic_create(IntPtr cluster, string topic, int partitions, int replicationFactor);

    [DllImport(Library, CharSet = CharSet.Ansi, BestFitMapping = false)]
    internal static extern void rd_kafka_mock_broker_set_host_port(IntPtr cluster, int brokerId, string host, int port);

    [DllImport(Library)]
    internal static extern void rd_kafka_mock_group_initial_rebalance_delay_ms(IntPtr cluster, int delayMs);

    [DllImport(Library)]
    internal static extern void rd_kafka_mock_push_request_errors_array(IntPtr cluster, short apiKey, UIntPtr count, int[] errors);
}
