namespace Switchboard.AllocationTests;

public sealed record Streamed(int Id);

/// <summary>
/// A stream's reader that has caught up with its publisher waits for the next event: with a cancellable token (what
/// <c>await foreach (… in stream.WithCancellation(ct))</c> passes) that wait must cost no allocation, as it costs none
/// on a raw channel read without a token. The wait starts on the reading thread, so its allocations are counted there;
/// the reader resumes on a thread-pool thread once the publish gives it an event.
/// </summary>
public sealed class StreamAllocationTests
{
    private const int WarmUp = 200;
    private const int Rounds = 5_000;

    [Fact]
    public async Task A_reader_waiting_with_a_cancellable_token_allocates_nothing_per_wait()
    {
        await using IMessageBus bus = MessageBus.Create(_ => { });
        await using EventStream<Streamed> stream = bus.Stream<Streamed>(new StreamOptions { Capacity = 16 });
        using CancellationTokenSource cts = new();
        await using IAsyncEnumerator<Streamed> reader = stream.GetAsyncEnumerator(cts.Token);
        Streamed message = new(1);

        long bytes = 0;
        int waits = 0;
        for (int round = -WarmUp; round < Rounds; round++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            ValueTask<bool> next = reader.MoveNextAsync(); // nothing buffered: the reader waits
            bool waited = !next.IsCompleted;
            ValueTask published = bus.PublishAsync(message);
            if (!published.IsCompletedSuccessfully)
            {
                throw new InvalidOperationException("A publish to a stream with room must complete synchronously.");
            }

            SpinWait spin = default;
            while (!next.IsCompleted)
            {
                spin.SpinOnce(sleep1Threshold: -1);
            }

            if (!ResultOfCompleted(next) || !ReferenceEquals(reader.Current, message))
            {
                throw new InvalidOperationException("The reader did not receive the published event.");
            }

            if (round >= 0)
            {
                bytes += GC.GetAllocatedBytesForCurrentThread() - before;
                waits += waited ? 1 : 0;
            }
        }

        Assert.Equal(Rounds, waits);
        Assert.True(bytes == 0, $"waiting for an event with a cancellable token allocated {bytes} bytes over {Rounds} waits ({(double)bytes / Rounds:0.##} B/wait); expected 0");
    }

    /// <summary>The result of a task the caller saw complete (it spun until then): no blocking.</summary>
    private static bool ResultOfCompleted(ValueTask<bool> completed) => completed.GetAwaiter().GetResult();
}
