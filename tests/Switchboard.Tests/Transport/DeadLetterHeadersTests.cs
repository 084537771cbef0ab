using Switchboard.Transport;

namespace Switchboard.Tests.Transport;

public sealed class DeadLetterHeadersTests
{
    [Fact]
    public void Add_then_Read_gives_back_the_original_message_and_why_when_and_where_it_failed()
    {
        TransportMessage original = new()
        {
            Destination = "orders",
            Headers = new Dictionary<string, string> { [MessageHeaders.MessageId] = "m-1", ["custom"] = "kept" },
            Body = new byte[] { 1, 2, 3 },
            PartitionKey = "k",
        };
        DeadLetterReason reason = DeadLetterReason.FromException(new InvalidOperationException("boom"), 4);
        DateTimeOffset at = new(2026, 12, 6, 23, 59, 0, TimeSpan.Zero);

        Dictionary<string, string> stored = DeadLetterHeaders.Add(original.Headers, reason, at, "billing");
        DeadLetterMessage read = DeadLetterHeaders.Read("e-1", new TransportMessage { Destination = "orders", Headers = stored, Body = original.Body, PartitionKey = "k" }, "other");

        Assert.Equal("e-1", read.Id);
        Assert.Equal(original.Headers, read.Message.Headers);
        Assert.Equal("k", read.Message.PartitionKey);
        Assert.Equal(original.Body.ToArray(), read.Message.Body.ToArray());
        Assert.Equal(reason, read.Reason);
        Assert.Equal(at, read.DeadLetteredAt);
        Assert.Equal("billing", read.ConsumerGroup);
        Assert.All(stored.Keys.Except(original.Headers.Keys), k => Assert.True(DeadLetterHeaders.IsDeadLetterHeader(k), k));
    }

    [Fact]
    public void Read_of_an_entry_without_the_schema_uses_the_fallbacks()
    {
        TransportMessage stored = new() { Destination = "orders", Headers = new Dictionary<string, string>(), Body = ReadOnlyMemory<byte>.Empty };
        DateTimeOffset at = DateTimeOffset.FromUnixTimeSeconds(1_800_000_000);

        DeadLetterMessage read = DeadLetterHeaders.Read("e-2", stored, "billing", "Dead-lettered by the broker (expired).", at);

        Assert.Equal("Dead-lettered by the broker (expired).", read.Reason.Reason);
        Assert.Equal(0, read.Reason.Attempts);
        Assert.Null(read.Reason.ExceptionType);
        Assert.Equal(at, read.DeadLetteredAt);
        Assert.Equal("billing", read.ConsumerGroup);
    }

    [Fact]
    public void Add_replaces_the_dead_letter_headers_of_an_earlier_failure()
    {
        Dictionary<string, string> first = DeadLetterHeaders.Add(new Dictionary<string, string>(), new DeadLetterReason("first", "T1", "d1", 1), DateTimeOffset.UnixEpoch, "g");
        Dictionary<string, string> second = DeadLetterHeaders.Add(first, new DeadLetterReason("second", null, null, 2), DateTimeOffset.UnixEpoch, "g");

        Assert.Equal("second", second[DeadLetterHeaders.Reason]);
        Assert.False(second.ContainsKey(DeadLetterHeaders.ExceptionType));
        Assert.Equal("2", second[DeadLetterHeaders.Attempts]);
    }
}
