namespace Switchboard.Tests.Dispatch;

// Item 3 of issue 2: a command has exactly one handler, a request returns its handler's result, request handlers are
// checked when the bus is built, SendBatchAsync keeps order, timeouts, and handler exceptions reach the caller unchanged.
public sealed class SendAndRequestTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(5);

    public sealed record ShipOrder(string OrderId);

    public sealed record ArchiveOrder(string OrderId);

    public sealed record Unhandled(int N);

    public sealed record GetTotal(int A, int B) : IRequest<int>;

    public sealed record GetLabel(int N) : IRequest<string>;

    public sealed record Orphan(int N) : IRequest<int>;

    public abstract record OrderCommand(string OrderId);

    public sealed record RefundOrder(string OrderId) : OrderCommand(OrderId);

    public sealed record Notify(string Text);

    public sealed class EmailNotifier : IHandler<Notify>
    {
        public ValueTask HandleAsync(Notify message, MessageContext context, CancellationToken cancellationToken) => default;
    }

    public sealed class SmsNotifier : IHandler<Notify>
    {
        public ValueTask HandleAsync(Notify message, MessageContext context, CancellationToken cancellationToken) => default;
    }

    [Fact]
    public async Task SendAndRequest_HandlerThrowingBeforeReturning_FailTheReturnedTaskNotTheCall()
    {
        InvalidOperationException shipping = new("no courier");
        InvalidOperationException totalling = new("overflow");
        await using IMessageBus bus = MessageBus.Create(b =>
        {
            b.Handle<ShipOrder>(_ => throw shipping);
            b.Handle<GetTotal, int>(_ => throw totalling);
        });

        // The call returns (it does not throw); the returned task carries the handler's own exception.
        ValueTask sent = bus.SendAsync(new ShipOrder("o-1"));
        ValueTask<int> requested = bus.RequestAsync(new GetTotal(1, 2));

        Assert.True(sent.IsFaulted);
        Assert.True(requested.IsFaulted);
        Assert.Same(shipping, await Assert.ThrowsAsync<InvalidOperationException>(() => sent.AsTask()));
        Assert.Same(totalling, await Assert.ThrowsAsync<InvalidOperationException>(() => requested.AsTask()));
        Assert.Equal(2, bus.GetStatistics().HandlerErrors);
    }
    [Fact]
    public async Task SendAsync_WithOneHandler_InvokesItOnce()
    {
        List<ShipOrder> seen = [];
        await using IMessageBus bus = MessageBus.Create(b => b.Handle<ShipOrder>(c => seen.Add(c)));
        ShipOrder command = new("o-1");

        await bus.SendAsync(command);

        Assert.Same(command, Assert.Single(seen));
        BusStatistics stats = bus.GetStatistics();
        Assert.Equal(1, stats.CommandsSent);
        Assert.Equal(1, stats.HandlersInvoked);
    }

    [Fact]
    public async Task SendAsync_ToAHandlerWithAResult_InvokesItAndDiscardsTheResult()
    {
        int calls = 0;
        await using IMessageBus bus = MessageBus.Create(b => b.Handle<ShipOrder, string>(async (c, ct) =>
        {
            await Task.Yield();
            calls++;
            return "shipped";
        }));

        await bus.SendAsync(new ShipOrder("o-2"));

        Assert.Equal(1, calls);
    }

    [Fact]
    public async Task SendAsync_WithNoHandler_ThrowsNoHandlerExceptionNamingTheType()
    {
        int others = 0;
        await using IMessageBus bus = MessageBus.Create(b => b.Handle<ShipOrder>(_ => others++));

        NoHandlerException error = await Assert.ThrowsAsync<NoHandlerException>(async () => await bus.SendAsync(new Unhandled(1)));

        Assert.Contains(nameof(Unhandled), error.Message, StringComparison.Ordinal);
        Assert.Contains("Handle<Unhandled>", error.Message, StringComparison.Ordinal);
        Assert.Equal(0, others);
    }

    [Fact]
    public async Task SendAsync_WithOnlyABaseTypeHandler_ThrowsNoHandlerExceptionAndInvokesNothing()
    {
        int calls = 0;
        await using IMessageBus bus = MessageBus.Create(b => b.Handle<OrderCommand>(_ => calls++));

        NoHandlerException error = await Assert.ThrowsAsync<NoHandlerException>(async () => await bus.SendAsync(new RefundOrder("o-3")));

        Assert.Contains(nameof(RefundOrder), error.Message, StringComparison.Ordinal);
        Assert.Contains("base type", error.Message, StringComparison.Ordinal);
        Assert.Equal(0, calls);
    }

    [Fact]
    public async Task SendAsync_WithTwoHandlers_ThrowsInvalidOperationExceptionListingThem()
    {
        await using IMessageBus bus = MessageBus.Create(b =>
        {
            b.AddHandler<EmailNotifier>();
            b.AddHandler<SmsNotifier>();
        });

        InvalidOperationException error = await Assert.ThrowsAsync<InvalidOperationException>(async () => await bus.SendAsync(new Notify("hi")));

        Assert.Contains(nameof(Notify), error.Message, StringComparison.Ordinal);
        Assert.Contains(nameof(EmailNotifier), error.Message, StringComparison.Ordinal);
        Assert.Contains(nameof(SmsNotifier), error.Message, StringComparison.Ordinal);
        Assert.Equal(0, bus.GetStatistics().HandlersInvoked);
    }

    [Fact]
    public async Task SendAsync_WithTwoDelegateHandlers_ThrowsAndInvokesNeither()
    {
        int calls = 0;
        await using IMessageBus bus = MessageBus.Create(b =>
        {
            b.Handle<ShipOrder>(_ => calls++);
            b.Handle<ShipOrder>(async (_, ct) =>
            {
                await Task.Yield();
                calls++;
            });
        });

        InvalidOperationException error = await Assert.ThrowsAsync<InvalidOperationException>(async () => await bus.SendAsync(new ShipOrder("o-4")));

        Assert.Contains("2 are registered", error.Message, StringComparison.Ordinal);
        Assert.Equal(0, calls);
    }

    [Fact]
    public async Task RequestAsync_SyncHandler_ReturnsItsResult()
    {
        await using IMessageBus bus = MessageBus.Create(b => b.Handle<GetTotal, int>(q => q.A + q.B));

        int total = await bus.RequestAsync(new GetTotal(2, 3));

        Assert.Equal(5, total);
        Assert.Equal(1, bus.GetStatistics().RequestsSent);
    }

    [Fact]
    public async Task RequestAsync_AsyncHandler_ReturnsItsResultWhenItCompletes()
    {
        TaskCompletionSource gate = new(TaskCreationOptions.RunContinuationsAsynchronously);
        await using IMessageBus bus = MessageBus.Create(b => b.Handle<GetLabel, string>(async (q, ct) =>
        {
            await gate.Task;
            return $"label-{q.N}";
        }));

        ValueTask<string> requesting = bus.RequestAsync(new GetLabel(9));
        Assert.False(requesting.IsCompleted);
        gate.SetResult();

        Assert.Equal("label-9", await requesting.AsTask().WaitAsync(Patience));
    }

    [Fact]
    public async Task RequestAsync_EachRequestGetsItsOwnResult()
    {
        await using IMessageBus bus = MessageBus.Create(b => b.Handle<GetTotal, int>(async (q, ct) =>
        {
            await Task.Yield();
            return q.A * q.B;
        }));

        int[] results = await Task.WhenAll(Enumerable.Range(0, 50).Select(i => bus.RequestAsync(new GetTotal(i, 2)).AsTask()));

        Assert.Equal(Enumerable.Range(0, 50).Select(i => i * 2), results);
    }

    [Fact]
    public async Task RequestAsync_WithNoHandler_ThrowsNoHandlerExceptionNamingTheType()
    {
        await using IMessageBus bus = MessageBus.Create(b => b.Handle<GetTotal, int>(q => 0));

        NoHandlerException error = await Assert.ThrowsAsync<NoHandlerException>(async () => await bus.RequestAsync(new Orphan(1)));

        Assert.Contains(nameof(Orphan), error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Create_WithTwoHandlersForARequestType_ThrowsBusConfigurationExceptionNamingTheType()
    {
        int calls = 0;

        BusConfigurationException error = Assert.Throws<BusConfigurationException>(() => MessageBus.Create(b =>
        {
            b.Handle<GetTotal, int>(q => ++calls);
            b.Handle<GetTotal, int>(async (q, ct) =>
            {
                await Task.Yield();
                return ++calls;
            });
        }));

        Assert.Contains(nameof(GetTotal), error.Message, StringComparison.Ordinal);
        Assert.Contains("2 handlers", error.Message, StringComparison.Ordinal);
        Assert.Equal(0, calls);
    }

    [Fact]
    public void Create_WithAResultHandlerAndAnotherHandlerForOneCommand_ThrowsBusConfigurationException()
    {
        BusConfigurationException error = Assert.Throws<BusConfigurationException>(() => MessageBus.Create(b =>
        {
            b.Handle<ShipOrder, string>(c => "shipped");
            b.Handle<ShipOrder>(_ => { });
        }));

        Assert.Contains(nameof(ShipOrder), error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Create_RequestWhoseHandlerReturnsAnotherType_ThrowsBusConfigurationException()
    {
        BusConfigurationException error = Assert.Throws<BusConfigurationException>(
            () => MessageBus.Create(b => b.Handle<GetTotal, string>(q => "five")));

        Assert.Contains("IRequest<Int32>", error.Message, StringComparison.Ordinal);
        Assert.Contains("returns String", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Create_RequestWhoseHandlerReturnsABaseTypeOfTheResult_ThrowsBusConfigurationException()
    {
        Assert.Throws<BusConfigurationException>(() => MessageBus.Create(b => b.Handle<GetLabel, object>(q => "label")));
    }

    [Theory]
    [InlineData("action")]
    [InlineData("async")]
    [InlineData("context")]
    public void Create_RequestWhoseHandlerReturnsNothing_ThrowsBusConfigurationException(string shape)
    {
        BusConfigurationException error = Assert.Throws<BusConfigurationException>(() => MessageBus.Create(b =>
        {
            switch (shape)
            {
                case "action":
                    b.Handle<GetTotal>(_ => { });
                    break;
                case "async":
                    b.Handle<GetTotal>((_, ct) => default);
                    break;
                default:
                    b.Handle<GetTotal>((_, context, ct) => default);
                    break;
            }
        }));

        Assert.Contains("returns nothing", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SendBatchAsync_ReturnsTheResultsInOrder_NullForHandlersWithoutOne()
    {
        List<string> order = [];
        await using IMessageBus bus = MessageBus.Create(b =>
        {
            b.Handle<ShipOrder>(c => order.Add("ship " + c.OrderId));
            b.Handle<GetTotal, int>(async (q, ct) =>
            {
                await Task.Yield();
                order.Add("total");
                return q.A + q.B;
            });
            b.Handle<GetLabel, string>((q, context, ct) =>
            {
                order.Add("label");
                return new ValueTask<string>($"L{q.N}");
            });
        });

        IReadOnlyList<object?> results = await bus.SendBatchAsync([new GetTotal(1, 2), new ShipOrder("a"), new GetLabel(4), new ShipOrder("b"), new GetTotal(5, 5)]);

        Assert.Equal([3, null, "L4", null, 10], results);
        Assert.Equal(["total", "ship a", "label", "ship b", "total"], order);
        Assert.Equal(5, bus.GetStatistics().CommandsSent);
    }

    [Fact]
    public async Task SendBatchAsync_WithAnUnhandledMessage_ThrowsBeforeSendingAnything()
    {
        int calls = 0;
        await using IMessageBus bus = MessageBus.Create(b => b.Handle<ShipOrder>(_ => calls++));

        NoHandlerException error = await Assert.ThrowsAsync<NoHandlerException>(
            async () => await bus.SendBatchAsync([new ShipOrder("a"), new Unhandled(1)]));

        Assert.Contains(nameof(Unhandled), error.Message, StringComparison.Ordinal);
        Assert.Equal(0, calls);
    }

    [Fact]
    public async Task SendBatchAsync_WithANullMessage_ThrowsArgumentExceptionBeforeSendingAnything()
    {
        int calls = 0;
        await using IMessageBus bus = MessageBus.Create(b => b.Handle<ShipOrder>(_ => calls++));

        await Assert.ThrowsAsync<ArgumentException>(async () => await bus.SendBatchAsync([new ShipOrder("a"), null!]));

        Assert.Equal(0, calls);
    }

    [Fact]
    public async Task SendBatchAsync_WhenAHandlerThrows_PropagatesItsException()
    {
        InvalidOperationException boom = new("boom");
        await using IMessageBus bus = MessageBus.Create(b =>
        {
            b.Handle<ShipOrder>(_ => { });
            b.Handle<ArchiveOrder>(_ => throw boom);
        });

        Exception error = await Assert.ThrowsAsync<InvalidOperationException>(
            async () => await bus.SendBatchAsync([new ShipOrder("a"), new ArchiveOrder("b")]));

        Assert.Same(boom, error);
        Assert.Equal(1, bus.GetStatistics().HandlerErrors);
    }

    [Fact]
    public async Task RequestAsync_WithATimeout_SlowHandler_ThrowsTimeoutExceptionAndCancelsTheHandler()
    {
        TaskCompletionSource gate = new(TaskCreationOptions.RunContinuationsAsynchronously);
        TaskCompletionSource cancelled = new(TaskCreationOptions.RunContinuationsAsynchronously);
        await using IMessageBus bus = MessageBus.Create(b => b.Handle<GetTotal, int>(async (q, ct) =>
        {
            try
            {
                await gate.Task.WaitAsync(ct);
            }
            catch (OperationCanceledException)
            {
                cancelled.SetResult();
                throw;
            }

            return q.A + q.B;
        }));

        try
        {
            TimeoutException error = await Assert.ThrowsAsync<TimeoutException>(
                async () => await bus.RequestAsync(new GetTotal(1, 1), new RequestOptions { Timeout = TimeSpan.FromMilliseconds(100) }).AsTask().WaitAsync(Patience));

            Assert.Contains(nameof(GetTotal), error.Message, StringComparison.Ordinal);
            await cancelled.Task.WaitAsync(Patience);
        }
        finally
        {
            gate.TrySetResult();
        }
    }

    [Fact]
    public async Task RequestAsync_TimeoutExpiredOnTheBusClock_CancelsTheHandlerEvenBeforeItsOwnDeadline()
    {
        // The bus's clock expires every timer at once, while the timeout itself is long: the request times out by the
        // clock, and the handler must still be told to stop (not left running until the real deadline).
        TaskCompletionSource gate = new(TaskCreationOptions.RunContinuationsAsynchronously);
        TaskCompletionSource cancelled = new(TaskCreationOptions.RunContinuationsAsynchronously);
        await using IMessageBus bus = MessageBus.Create(b =>
        {
            b.UseTimeProvider(new ExpireAtOnceTimeProvider());
            b.Handle<GetTotal, int>(async (q, ct) =>
            {
                try
                {
                    await gate.Task.WaitAsync(ct);
                }
                catch (OperationCanceledException)
                {
                    cancelled.SetResult();
                    throw;
                }

                return 0;
            });
        });

        try
        {
            await Assert.ThrowsAsync<TimeoutException>(
                async () => await bus.RequestAsync(new GetTotal(1, 1), new RequestOptions { Timeout = TimeSpan.FromMinutes(10) }).AsTask().WaitAsync(Patience));
            await cancelled.Task.WaitAsync(Patience);
        }
        finally
        {
            gate.TrySetResult();
        }
    }

    [Fact]
    public async Task RequestAsync_WithATimeout_FastHandler_ReturnsItsResult()
    {
        await using IMessageBus bus = MessageBus.Create(b => b.Handle<GetTotal, int>(async (q, ct) =>
        {
            await Task.Yield();
            return q.A + q.B;
        }));

        int total = await bus.RequestAsync(new GetTotal(20, 22), new RequestOptions { Timeout = Patience });

        Assert.Equal(42, total);
    }

    [Theory]
    [InlineData("sync")]
    [InlineData("async")]
    [InlineData("context")]
    public async Task SendAsync_WhenTheHandlerThrows_PropagatesTheSameExceptionAndCountsIt(string shape)
    {
        InvalidOperationException boom = new("boom");
        await using IMessageBus bus = MessageBus.Create(b =>
        {
            switch (shape)
            {
                case "sync":
                    b.Handle<ShipOrder>(_ => throw boom);
                    break;
                case "async":
                    b.Handle<ShipOrder>(async (_, ct) =>
                    {
                        await Task.Yield();
                        throw boom;
                    });
                    break;
                default:
                    b.Handle<ShipOrder>(async (_, context, ct) =>
                    {
                        await Task.Yield();
                        throw boom;
                    });
                    break;
            }
        });

        Exception error = await Assert.ThrowsAsync<InvalidOperationException>(async () => await bus.SendAsync(new ShipOrder("x")));

        Assert.Same(boom, error);
        BusStatistics stats = bus.GetStatistics();
        Assert.Equal(1, stats.HandlersInvoked);
        Assert.Equal(1, stats.HandlerErrors);
    }

    [Theory]
    [InlineData("sync", false)]
    [InlineData("async", false)]
    [InlineData("context", false)]
    [InlineData("sync", true)]
    [InlineData("async", true)]
    [InlineData("context", true)]
    public async Task RequestAsync_WhenTheHandlerThrows_PropagatesTheSameExceptionAndCountsIt(string shape, bool withOptions)
    {
        FormatException boom = new("bad total");
        await using IMessageBus bus = MessageBus.Create(b =>
        {
            switch (shape)
            {
                case "sync":
                    b.Handle<GetTotal, int>(_ => throw boom);
                    break;
                case "async":
                    b.Handle<GetTotal, int>(async (_, ct) =>
                    {
                        await Task.Yield();
                        throw boom;
                    });
                    break;
                default:
                    b.Handle<GetTotal, int>(async (_, context, ct) =>
                    {
                        await Task.Yield();
                        throw boom;
                    });
                    break;
            }
        });
        RequestOptions? options = withOptions ? new RequestOptions { Timeout = Patience } : null;

        Exception error = await Assert.ThrowsAsync<FormatException>(async () => await bus.RequestAsync(new GetTotal(1, 2), options));

        Assert.Same(boom, error);
        BusStatistics stats = bus.GetStatistics();
        Assert.Equal(1, stats.HandlersInvoked);
        Assert.Equal(1, stats.HandlerErrors);
    }

    [Fact]
    public async Task RequestAsync_AfterAHandlerFailed_StillAnswersTheNextRequest()
    {
        int calls = 0;
        await using IMessageBus bus = MessageBus.Create(b => b.Handle<GetTotal, int>(q => ++calls == 1 ? throw new InvalidOperationException("first") : q.A + q.B));

        await Assert.ThrowsAsync<InvalidOperationException>(async () => await bus.RequestAsync(new GetTotal(1, 1)));
        Assert.Equal(3, await bus.RequestAsync(new GetTotal(1, 2)));
    }

    /// <summary>A clock on which every timer fires as soon as it is started, whatever its due time.</summary>
    private sealed class ExpireAtOnceTimeProvider : TimeProvider
    {
        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            if (dueTime != Timeout.InfiniteTimeSpan)
            {
                ThreadPool.QueueUserWorkItem(_ => callback(state));
            }

            return new NoTimer();
        }

        private sealed class NoTimer : ITimer
        {
            public bool Change(TimeSpan dueTime, TimeSpan period) => true;

            public void Dispose()
            {
            }

            public ValueTask DisposeAsync() => default;
        }
    }
}
