using Switchboard.AmazonSqs;

namespace Switchboard.IntegrationTests.AmazonSqs;

/// <summary>
/// Where the code awaiting an entry goes on: for deletes (the receiver's short settlement), on the thread that completes
/// the batch, one after the other (a thread-pool work item per message was measured as a large part of the client's CPU);
/// for sends (the application's code after a publish), on a work item of its own, never holding up the batch.
/// </summary>
public sealed class SqsBatcherContinuationTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    [ThreadStatic]
    private static bool t_completingBatch;

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task An_awaiter_continues_inside_the_batch_completion_only_when_the_batcher_is_told_to(bool continueInline)
    {
        SqsBatcher<int> batcher = new(CompleteAsync, _ => 1, maxInFlight: 4, maxBatchBytes: int.MaxValue, continueInline: continueInline);

        bool[] inside = await Task.WhenAll(Enumerable.Range(0, 3).Select(i => AwaitEntryAsync(batcher, i))).WaitAsync(Patience);

        Assert.All(inside, value => Assert.Equal(continueInline, value));
    }

    private static async Task<bool> AwaitEntryAsync(SqsBatcher<int> batcher, int item)
    {
        await batcher.EnqueueAsync(item).ConfigureAwait(false);
        return t_completingBatch;
    }

    /// <summary>A stand-in batch call: answers every entry, marking the thread while it does.</summary>
    private static async Task CompleteAsync(IReadOnlyList<SqsBatcher<int>.Pending> batch)
    {
        await Task.Yield();
        t_completingBatch = true;
        try
        {
            foreach (SqsBatcher<int>.Pending pending in batch)
            {
                pending.Done.TrySetResult();
            }
        }
        finally
        {
            t_completingBatch = false;
        }
    }
}
