namespace Switchboard.Tests.Dispatch;

public sealed record OwnedPing(int N);

/// <summary>
/// A standalone bus creates class handlers itself (one instance per class) and disposes the disposable ones when it
/// stops; instances the application handed over stay the application's.
/// </summary>
public sealed class OwnedHandlerDisposalTests
{
    [Fact]
    public async Task A_handler_class_the_bus_created_is_disposed_when_the_bus_is_and_not_before()
    {
        DisposableHandler.Reset();
        IMessageBus bus = MessageBus.Create(b => b.AddHandler<DisposableHandler>());

        await bus.PublishAsync(new OwnedPing(1));
        await bus.PublishAsync(new OwnedPing(2));
        Assert.Equal(2, DisposableHandler.Handled);
        Assert.Equal(0, DisposableHandler.Disposed);

        await bus.DisposeAsync();
        await bus.DisposeAsync();

        Assert.Equal(1, DisposableHandler.Instances);
        Assert.Equal(1, DisposableHandler.Disposed);
    }

    [Fact]
    public async Task A_compiled_handler_the_bus_created_is_disposed_asynchronously_when_the_bus_stops()
    {
        AsyncDisposableHandler handler = null!;
        IMessageBus bus = MessageBus.Create(b => b.AddCompiledHandler<AsyncDisposableHandler, OwnedPing>(
            _ => handler = new AsyncDisposableHandler(), CompiledHandlerFlags.None));

        await bus.PublishAsync(new OwnedPing(1));
        Assert.False(handler.Disposed);

        await bus.ShutdownAsync(TimeSpan.FromSeconds(5));

        Assert.True(handler.Disposed);
    }

    [Fact]
    public async Task An_instance_the_application_registered_is_not_disposed_by_the_bus()
    {
        AsyncDisposableHandler handler = new();
        await using (IMessageBus bus = MessageBus.Create(b => b.AddHandler(handler)))
        {
            await bus.PublishAsync(new OwnedPing(1));
        }

        Assert.False(handler.Disposed);
    }

    [Fact]
    public async Task A_failing_dispose_does_not_fail_the_bus_shutdown_and_the_other_handlers_are_still_disposed()
    {
        DisposableHandler.Reset();
        IMessageBus bus = MessageBus.Create(b => b.AddHandler<ThrowingDisposeHandler>().AddHandler<DisposableHandler>());

        ShutdownReport report = await bus.ShutdownAsync(TimeSpan.FromSeconds(5));

        Assert.True(report.Completed);
        Assert.Equal(1, DisposableHandler.Disposed);
    }

    public sealed class DisposableHandler : IHandler<OwnedPing>, IDisposable
    {
        public static int Instances;
        public static int Handled;
        public static int Disposed;

        public DisposableHandler() => Interlocked.Increment(ref Instances);

        public static void Reset() => Instances = Handled = Disposed = 0;

        public ValueTask HandleAsync(OwnedPing message, MessageContext context, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref Handled);
            return ValueTask.CompletedTask;
        }

        public void Dispose() => Interlocked.Increment(ref Disposed);
    }

    public sealed class AsyncDisposableHandler : IHandler<OwnedPing>, IAsyncDisposable
    {
        public bool Disposed { get; private set; }

        public ValueTask HandleAsync(OwnedPing message, MessageContext context, CancellationToken cancellationToken) => ValueTask.CompletedTask;

        public async ValueTask DisposeAsync()
        {
            await Task.Yield();
            Disposed = true;
        }
    }

    public sealed class ThrowingDisposeHandler : IHandler<OwnedPing>, IDisposable
    {
        public ValueTask HandleAsync(OwnedPing message, MessageContext context, CancellationToken cancellationToken) => ValueTask.CompletedTask;

        public void Dispose() => throw new InvalidOperationException("dispose failed");
    }
}
