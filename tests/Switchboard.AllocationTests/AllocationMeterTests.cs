namespace Switchboard.AllocationTests;

/// <summary>The meter itself: a zero from a meter that cannot see allocations would prove nothing.</summary>
public sealed class AllocationMeterTests
{
    [Fact]
    public void Measure_OperationThatAllocates_CountsTheBytes()
    {
        object? sink = null;

        long bytes = AllocationMeter.Measure(() =>
        {
            sink = new object();
            return default;
        });

        Assert.NotNull(sink);
        Assert.True(bytes >= AllocationMeter.Iterations * 24L, $"an object per call should be at least 24 bytes each, measured {bytes}");
    }

    [Fact]
    public void Measure_OperationThatDoesNotAllocate_CountsZero()
    {
        int calls = 0;

        long bytes = AllocationMeter.Measure(() =>
        {
            calls++;
            return default;
        });

        Assert.Equal(0, bytes);
        Assert.Equal(AllocationMeter.WarmUp + AllocationMeter.Iterations, calls);
    }

    [Fact]
    public void Measure_OperationThatDoesNotCompleteSynchronously_Throws()
    {
        TaskCompletionSource pending = new();

        Assert.Throws<InvalidOperationException>(() => AllocationMeter.Measure(() => new ValueTask(pending.Task)));
    }
}
