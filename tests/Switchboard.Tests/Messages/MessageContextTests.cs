using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Switchboard.Tests.Messages;

public sealed record CtxOrder(string Id);
public sealed record CtxShipped(string Id);
public sealed record CtxPacked(string Id);
public sealed record CtxBill(string Id);
public sealed record CtxNobodyHandlesThis(string Id);
public sealed record CtxQuote(int N) : IRequest<int>;
public sealed record CtxQuoted(int N);

public sealed class CtxItemsReader : IHandler<CtxOrder>
{
    public List<object?> Seen { get; } = [];

    public ValueTask HandleAsync(CtxOrder message, MessageContext context, CancellationToken cancellationToken)
    {
        Seen.Add(context.Items.TryGetValue("user", out object? user) ? user : null);
        return default;
    }
}

public sealed class MessageContextTests
{
    private sealed class Log
    {
        private readonly List<string> _entries = [];

        public void Add(string entry)
        {
            lock (_entries)
            {
                _entries.Add(entry);
            }
        }

        public string[] Entries
        {
            get
            {
                lock (_entries)
                {
                    return [.. _entries];
                }
            }
        }
    }

    [Fact]
    public async Task The_context_describes_the_message_being_handled()
    {
        MessageContext? seen = null;
        CtxOrder order = new("o-1");
        object? message = null;
        int attempt = 0;
        string? topic = "unset";
        await using IMessageBus bus = MessageBus.Create(b => b.Handle<CtxOrder>((o, context, ct) =>
        {
            seen = context;
            message = context.Message;
            attempt = context.Attempt;
            topic = context.Topic;
            return default;
        }));

        await bus.PublishAsync(order);

        Assert.NotNull(seen);
        Assert.Same(order, message);
        Assert.Equal(1, attempt);
        Assert.Null(topic);
    }

    [Fact]
    public async Task Cascaded_messages_are_dispatched_after_the_handler_returns_in_order_and_after_every_handler_of_the_message()
    {
        Log log = new();
        await using IMessageBus bus = MessageBus.Create(b =>
        {
            b.Handle<CtxOrder>(async (o, context, ct) =>
            {
                await context.PublishAsync(new CtxShipped(o.Id), ct);
                await context.SendAsync(new CtxBill(o.Id), ct);
                await context.PublishAsync("orders/shipped", new { o.Id }, ct);
                await context.PublishAsync(new CtxPacked(o.Id), ct);
                log.Add("first handler returns");
            });
            b.Handle<CtxOrder>(o => log.Add("second handler"));
            b.Handle<CtxShipped>(s => log.Add("shipped"));
            b.Handle<CtxBill>(c => log.Add("bill"));
            b.Handle<CtxPacked>(p => log.Add("packed"));
        });
        using Subscription topic = bus.Subscribe("orders/#", m => log.Add("topic " + m.Topic));

        await bus.PublishAsync(new CtxOrder("o-1"));

        Assert.Equal(["first handler returns", "second handler", "shipped", "bill", "topic orders/shipped", "packed"], log.Entries);
    }

    [Fact]
    public async Task Nothing_a_handler_cascaded_is_seen_when_it_throws()
    {
        Log log = new();
        await using IMessageBus bus = MessageBus.Create(b =>
        {
            b.Handle<CtxOrder>(async (o, context, ct) =>
            {
                await context.PublishAsync(new CtxShipped(o.Id), ct);
                await context.SendAsync(new CtxBill(o.Id), ct);
                await context.PublishAsync("orders/shipped", new { o.Id }, ct);
                throw new InvalidOperationException("payment declined");
            });
            b.Handle<CtxShipped>(s => log.Add("shipped"));
            b.Handle<CtxBill>(c => log.Add("bill"));
        });
        using Subscription topic = bus.Subscribe("orders/#", m => log.Add("topic " + m.Topic));
        using Subscription all = bus.SubscribeToAll((e, _) =>
        {
            log.Add("any " + e.GetType().Name);
            return default;
        });

        await bus.PublishAsync(new CtxOrder("o-1"));

        Assert.Equal(["any CtxOrder"], log.Entries);
        Assert.Equal(1, bus.GetStatistics().HandlerErrors);
    }

    [Fact]
    public async Task A_failing_handler_discards_only_its_own_cascades_and_a_sibling_that_succeeded_keeps_them()
    {
        Log log = new();
        await using IMessageBus bus = MessageBus.Create(b =>
        {
            b.Handle<CtxOrder>(async (o, context, ct) =>
            {
                await context.PublishAsync(new CtxShipped("from the handler that succeeded"), ct);
            });
            b.Handle<CtxOrder>(async (o, context, ct) =>
            {
                await context.PublishAsync(new CtxShipped("from the handler that failed"), ct);
                throw new InvalidOperationException("boom");
            });
            b.Handle<CtxShipped>(s => log.Add(s.Id));
        });

        await bus.PublishAsync(new CtxOrder("o-1"));

        Assert.Equal(["from the handler that succeeded"], log.Entries);
    }

    [Fact]
    public async Task A_command_handler_cascades_after_it_returns_and_not_at_all_when_it_throws()
    {
        Log log = new();
        await using IMessageBus bus = MessageBus.Create(b =>
        {
            b.Handle<CtxBill>(async (c, context, ct) =>
            {
                await context.PublishAsync(new CtxShipped(c.Id), ct);
                log.Add("bill handler returns");
                if (c.Id == "bad")
                {
                    throw new InvalidOperationException("bad bill");
                }
            });
            b.Handle<CtxShipped>(s => log.Add("shipped " + s.Id));
        });

        await bus.SendAsync(new CtxBill("good"));
        await Assert.ThrowsAsync<InvalidOperationException>(async () => await bus.SendAsync(new CtxBill("bad")));

        Assert.Equal(["bill handler returns", "shipped good", "bill handler returns"], log.Entries);
    }

    [Fact]
    public async Task A_request_handler_cascades_before_RequestAsync_returns_and_not_at_all_when_it_throws()
    {
        Log log = new();
        await using IMessageBus bus = MessageBus.Create(b =>
        {
            b.Handle<CtxQuote, int>(async (q, context, ct) =>
            {
                await context.PublishAsync(new CtxQuoted(q.N), ct);
                return q.N >= 0 ? q.N * 10 : throw new ArgumentOutOfRangeException(nameof(q));
            });
            b.Handle<CtxQuoted>(q => log.Add("quoted " + q.N));
        });

        Assert.Equal(30, await bus.RequestAsync(new CtxQuote(3)));
        Assert.Equal(["quoted 3"], log.Entries);

        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await bus.RequestAsync(new CtxQuote(-1)));
        Assert.Equal(["quoted 3"], log.Entries);
    }

    [Fact]
    public async Task Items_are_shared_by_the_handlers_of_one_message_and_fresh_for_the_next_message()
    {
        List<bool> firstSawLeftovers = [];
        CtxItemsReader reader = new();
        await using IMessageBus bus = MessageBus.Create(b =>
        {
            b.Handle<CtxOrder>((o, context, ct) =>
            {
                firstSawLeftovers.Add(context.Items.ContainsKey("user"));
                context.Items["user"] = "user of " + o.Id;
                return default;
            });
            b.AddHandler(reader);
        });

        await bus.PublishAsync(new CtxOrder("1"));
        await bus.PublishAsync(new CtxOrder("2"));

        Assert.Equal([false, false], firstSawLeftovers);
        Assert.Equal(["user of 1", "user of 2"], reader.Seen);
    }

    [Fact]
    public async Task A_cascaded_message_gets_its_own_items()
    {
        List<bool> childSawParentItem = [];
        await using IMessageBus bus = MessageBus.Create(b =>
        {
            b.Handle<CtxOrder>(async (o, context, ct) =>
            {
                context.Items["user"] = "alice";
                await context.PublishAsync(new CtxShipped(o.Id), ct);
            });
            b.Handle<CtxShipped>((s, context, ct) =>
            {
                childSawParentItem.Add(context.Items.ContainsKey("user"));
                return default;
            });
        });

        await bus.PublishAsync(new CtxOrder("1"));

        Assert.Equal([false], childSawParentItem);
    }

    private sealed record Ids(string MessageId, string CorrelationId, string? CausationId);

    [Fact]
    public async Task The_correlation_id_flows_to_cascaded_messages_and_the_causation_id_is_the_parent_message_id()
    {
        Dictionary<string, Ids> ids = [];
        await using IMessageBus bus = MessageBus.Create(b =>
        {
            b.Handle<CtxOrder>(async (o, context, ct) =>
            {
                ids["order"] = new Ids(context.MessageId, context.CorrelationId, context.CausationId);
                await context.PublishAsync(new CtxShipped(o.Id), ct);
            });
            b.Handle<CtxShipped>(async (s, context, ct) =>
            {
                ids["shipped"] = new Ids(context.MessageId, context.CorrelationId, context.CausationId);
                await context.SendAsync(new CtxBill(s.Id), ct);
            });
            b.Handle<CtxBill>((c, context, ct) =>
            {
                ids["bill"] = new Ids(context.MessageId, context.CorrelationId, context.CausationId);
                return default;
            });
        });

        await bus.PublishAsync(new CtxOrder("1"), new PublishOptions { CorrelationId = "conversation-1" });

        Assert.Equal("conversation-1", ids["order"].CorrelationId);
        Assert.Null(ids["order"].CausationId);
        Assert.Equal("conversation-1", ids["shipped"].CorrelationId);
        Assert.Equal(ids["order"].MessageId, ids["shipped"].CausationId);
        Assert.Equal("conversation-1", ids["bill"].CorrelationId);
        Assert.Equal(ids["shipped"].MessageId, ids["bill"].CausationId);
        Assert.Equal(3, ids.Values.Select(i => i.MessageId).Where(id => !string.IsNullOrEmpty(id)).Distinct().Count());
    }

    [Fact]
    public async Task A_message_that_starts_a_conversation_is_its_own_correlation_id_and_passes_it_on()
    {
        Dictionary<string, Ids> ids = [];
        await using IMessageBus bus = MessageBus.Create(b =>
        {
            b.Handle<CtxOrder>(async (o, context, ct) =>
            {
                ids["order"] = new Ids(context.MessageId, context.CorrelationId, context.CausationId);
                await context.PublishAsync(new CtxShipped(o.Id), ct);
            });
            b.Handle<CtxShipped>((s, context, ct) =>
            {
                ids["shipped"] = new Ids(context.MessageId, context.CorrelationId, context.CausationId);
                return default;
            });
        });

        await bus.PublishAsync(new CtxOrder("1"));

        Assert.False(string.IsNullOrEmpty(ids["order"].MessageId));
        Assert.Equal(ids["order"].MessageId, ids["order"].CorrelationId);
        Assert.Equal(ids["order"].MessageId, ids["shipped"].CorrelationId);
        Assert.Equal(ids["order"].MessageId, ids["shipped"].CausationId);
        Assert.NotEqual(ids["order"].MessageId, ids["shipped"].MessageId);
    }

    [Fact]
    public async Task PublishOptions_correlation_id_and_headers_reach_the_handler_context()
    {
        string? correlation = null;
        IReadOnlyDictionary<string, string>? headers = null;
        await using IMessageBus bus = MessageBus.Create(b => b.Handle<CtxOrder>((o, context, ct) =>
        {
            correlation = context.CorrelationId;
            headers = new Dictionary<string, string>(context.Headers);
            return default;
        }));

        await bus.PublishAsync(
            new CtxOrder("1"),
            new PublishOptions { CorrelationId = "corr-7", Headers = new Dictionary<string, string> { ["tenant"] = "acme", ["user"] = "bob" } });

        Assert.Equal("corr-7", correlation);
        Assert.NotNull(headers);
        Assert.Equal("acme", headers["tenant"]);
        Assert.Equal("bob", headers["user"]);
    }

    [Fact]
    public async Task RequestOptions_correlation_id_and_headers_reach_the_request_handler_context()
    {
        string? correlation = null;
        string? tenant = null;
        await using IMessageBus bus = MessageBus.Create(b => b.Handle<CtxQuote, int>((q, context, ct) =>
        {
            correlation = context.CorrelationId;
            tenant = context.Headers.TryGetValue("tenant", out string? t) ? t : null;
            return ValueTask.FromResult(q.N);
        }));

        await bus.RequestAsync(new CtxQuote(1), new RequestOptions { CorrelationId = "corr-9", Headers = new Dictionary<string, string> { ["tenant"] = "acme" } });

        Assert.Equal("corr-9", correlation);
        Assert.Equal("acme", tenant);
    }

    [Fact]
    public async Task SendAsync_from_a_handler_to_a_type_without_a_handler_throws_at_that_call()
    {
        Exception? caught = null;
        bool reachedAfterSend = false;
        await using IMessageBus bus = MessageBus.Create(b => b.Handle<CtxOrder>(async (o, context, ct) =>
        {
            try
            {
                await context.SendAsync(new CtxNobodyHandlesThis(o.Id), ct);
                reachedAfterSend = true;
            }
            catch (Exception ex)
            {
                caught = ex;
            }
        }));

        await bus.PublishAsync(new CtxOrder("1"));

        NoHandlerException error = Assert.IsType<NoHandlerException>(caught);
        Assert.Contains(nameof(CtxNobodyHandlesThis), error.Message, StringComparison.Ordinal);
        Assert.False(reachedAfterSend);
    }

    [Fact]
    public async Task A_handler_that_lets_the_missing_handler_error_escape_fails_and_cascades_nothing()
    {
        Log log = new();
        await using IMessageBus bus = MessageBus.Create(b =>
        {
            b.Handle<CtxOrder>(async (o, context, ct) =>
            {
                await context.PublishAsync(new CtxShipped(o.Id), ct);
                await context.SendAsync(new CtxNobodyHandlesThis(o.Id), ct);
            });
            b.Handle<CtxShipped>(s => log.Add("shipped"));
        });

        await bus.PublishAsync(new CtxOrder("1"));

        Assert.Empty(log.Entries);
        Assert.Equal(1, bus.GetStatistics().HandlerErrors);
    }

    [Fact]
    public async Task A_cascaded_command_whose_handler_fails_is_counted_and_logged_and_the_publish_is_isolated()
    {
        ConcurrentQueue<(LogLevel Level, Exception? Exception)> logs = new();
        using ILoggerFactory loggers = LoggerFactory.Create(l => l.AddProvider(new CapturingProvider(logs)));
        await using IMessageBus bus = MessageBus.Create(b =>
        {
            b.UseLoggerFactory(loggers);
            b.Handle<CtxOrder>(async (o, context, ct) => await context.SendAsync(new CtxBill(o.Id), ct));
            b.Handle<CtxBill>(c => throw new InvalidOperationException("bill failed"));
        });

        await bus.PublishAsync(new CtxOrder("1"));

        Assert.Equal(1, bus.GetStatistics().HandlerErrors);
        Assert.Single(logs, l => l.Level == LogLevel.Error && l.Exception is InvalidOperationException { Message: "bill failed" });
    }

    [Fact]
    public async Task SendAsync_from_a_handler_to_a_type_with_two_handlers_throws_at_that_call()
    {
        Exception? caught = null;
        await using IMessageBus bus = MessageBus.Create(b =>
        {
            b.Handle<CtxOrder>(async (o, context, ct) =>
            {
                try
                {
                    await context.SendAsync(new CtxBill(o.Id), ct);
                }
                catch (Exception ex)
                {
                    caught = ex;
                }
            });
            b.Handle<CtxBill>(_ => { });
            b.Handle<CtxBill>(_ => { });
        });

        await bus.PublishAsync(new CtxOrder("1"));

        InvalidOperationException error = Assert.IsType<InvalidOperationException>(caught);
        Assert.Contains(nameof(CtxBill), error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_standalone_bus_gives_handlers_no_service_provider()
    {
        bool? hadServices = null;
        await using IMessageBus bus = MessageBus.Create(b => b.Handle<CtxOrder>((o, context, ct) =>
        {
            hadServices = context.Services is not null;
            return default;
        }));

        await bus.PublishAsync(new CtxOrder("1"));

        Assert.False(hadServices);
    }

    [Fact]
    public async Task Cascading_on_an_invalid_topic_throws_at_that_call()
    {
        Exception? caught = null;
        await using IMessageBus bus = MessageBus.Create(b => b.Handle<CtxOrder>(async (o, context, ct) =>
        {
            try
            {
                await context.PublishAsync("orders/*", new { o.Id }, ct);
            }
            catch (Exception ex)
            {
                caught = ex;
            }
        }));

        await bus.PublishAsync(new CtxOrder("1"));

        Assert.IsAssignableFrom<ArgumentException>(caught);
    }

    private sealed class CapturingProvider(ConcurrentQueue<(LogLevel Level, Exception? Exception)> logs) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new Logger(logs);

        public void Dispose()
        {
        }

        private sealed class Logger(ConcurrentQueue<(LogLevel Level, Exception? Exception)> logs) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
                => logs.Enqueue((logLevel, exception));
        }
    }
}
