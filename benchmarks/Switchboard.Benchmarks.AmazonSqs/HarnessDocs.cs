using System.Text;

/// <summary>Writes the harness's table into the sqs-harness block of docs/benchmarks.md (--docs).</summary>
public static class HarnessDocs
{
    // Replaces the sqs-harness block of docs/benchmarks.md (or adds it before "## Machine").
    public static void WriteSection(string path, List<string> lines, string arguments, string loadBefore, string loadAfter)
    {
        const string Begin = "<!-- sqs-harness:begin -->", End = "<!-- sqs-harness:end -->";
        StringBuilder section = new();
        section.AppendLine(Begin);
        section.AppendLine("### Amazon SQS (emulator)");
        section.AppendLine();
        section.AppendLine($"Measured on {DateTime.UtcNow:yyyy-MM-dd} with `dotnet run -c Release --project benchmarks/Switchboard.Benchmarks.AmazonSqs -- {arguments} --docs docs/benchmarks.md`");
        section.AppendLine($"({Environment.ProcessorCount} cores shared with the emulator, load {loadBefore} before and {loadAfter} after; fauxqs from `scripts/servers.sh start sqs`).");
        section.AppendLine("Each process warms up (2 full-size rounds of each), then runs 3 interleaved rounds of both contenders: 32 concurrent producers for both, batches of 10");
        section.AppendLine("(Switchboard's single publishes coalesced into batches by the transport), one long-polling consumer deleting in batches.");
        section.AppendLine("The ratio is Switchboard's rate over the raw loop's in the same process; the target counts as met only when every process meets it.");
        section.AppendLine("CPU per message is this process's (client) and the emulator's CPU time over the timed window, divided by the messages (medians of the 3 rounds).");
        section.AppendLine("Details: [transports/sqs.md](transports/sqs.md#performance).");
        section.AppendLine();
        foreach (string line in lines)
        {
            section.AppendLine(line);
        }

        section.Append(End);
        string text = File.ReadAllText(path);
        int begin = text.IndexOf(Begin, StringComparison.Ordinal), end = text.IndexOf(End, StringComparison.Ordinal);
        int machine = text.IndexOf("## Machine", StringComparison.Ordinal);
        text = begin >= 0 && end > begin
            ? text[..begin] + section + text[(end + End.Length)..]
            : machine < 0 ? text + Environment.NewLine + section + Environment.NewLine : text[..machine] + section + Environment.NewLine + Environment.NewLine + text[machine..];
        File.WriteAllText(path, text);
    }
}
