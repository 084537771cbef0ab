using System.Collections.Concurrent;
using System.Net;
using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;
using StackExchange.Redis;
using Switchboard.Operations;
using Switchboard.RabbitMQ;
using Switchboard.Redis;

namespace Switchboard.Dashboard.Tests;

public sealed record DashOrder(string Id, long AmountCents);
public sealed record DashInvoice(string Id, string Customer);

/// <summary>
/// A real app: ASP.NET Core on 127.0.0.1 with a bus over the shared Redis (in its DI) and a second bus over the shared
/// RabbitMQ (in a host of its own), both dead-lettering the messages whose ids are in <see cref="Failures"/> on their first
/// attempt, and the dashboard showing both.
/// </summary>
public sealed class DashboardApp : IAsyncDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);
    private readonly WebApplication _web;
    private readonly IHost _rabbitHost;
    private readonly string _prefix;
    private readonly string _exchange;
    private readonly string _rabbitGroup;

    private DashboardApp(WebApplication web, IHost rabbitHost, string prefix, string exchange, string rabbitGroup, FailureSwitch failures)
    {
        _web = web;
        _rabbitHost = rabbitHost;
        _prefix = prefix;
        _exchange = exchange;
        _rabbitGroup = rabbitGroup;
        Failures = failures;
        RedisBus = web.Services.GetRequiredService<IMessageBus>();
        RabbitBus = rabbitHost.Services.GetRequiredService<IMessageBus>();
        Operations = new SwitchboardOperations([.. RedisBus.GetOperations().Sources, .. RabbitBus.GetOperations().Sources]);
        BaseUrl = web.Urls.First().TrimEnd('/');
    }

    public FailureSwitch Failures { get; }

    /// <summary>Gets the Redis stream prefix of this app.</summary>
    public string RedisPrefix => _prefix;

    /// <summary>Gets the RabbitMQ consumer group (the bus name) of this app.</summary>
    public string RabbitGroup => _rabbitGroup;

    public IMessageBus RedisBus { get; }

    public IMessageBus RabbitBus { get; }

    public SwitchboardOperations Operations { get; }

    /// <summary>Gets the app's address, for example <c>http://127.0.0.1:45123</c>.</summary>
    public string BaseUrl { get; }

    public string DashboardUrl => BaseUrl + "/switchboard";

    public OperationsSource RedisOrders => Operations.Sources.Single(s => s.Transport == "redis" && s.Destination == "orders");

    public OperationsSource RabbitInvoices => Operations.Sources.Single(s => s.Transport == "rabbitmq" && s.Destination == "invoices");

    public static async Task<DashboardApp> StartAsync(Action<SwitchboardDashboardOptions>? configure = null, bool requirePolicy = false)
    {
        string suffix = Guid.NewGuid().ToString("N")[..10];
        string prefix = "sbdash-" + suffix;
        string exchange = "sbdash-" + suffix;
        string rabbitGroup = "dash-q-" + suffix;
        FailureSwitch failures = new();

        HostApplicationBuilder rabbitBuilder = Host.CreateApplicationBuilder();
        rabbitBuilder.Logging.ClearProviders();
        rabbitBuilder.Services.AddSwitchboard(b => b
            .Configure(o =>
            {
                o.Name = rabbitGroup;
                o.Retry.MaxAttempts = 1;
            })
            .UseRabbitMq(new RabbitMqTransportOptions { Uri = Servers.RabbitMq, ExchangeName = exchange })
            .RouteToTransport<DashInvoice>("invoices")
            .Handle<DashInvoice>(i => failures.Handle(i.Id)));
        IHost rabbitHost = rabbitBuilder.Build();
        await rabbitHost.StartAsync();

        WebApplicationBuilder builder = WebApplication.CreateBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.Services.AddSwitchboardDashboard();
        builder.Services.AddAuthentication("test").AddScheme<AuthenticationSchemeOptions, HeaderAuthentication>("test", null);
        builder.Services.AddAuthorization(o => o.AddPolicy("ops", p => p.RequireAuthenticatedUser()));
        builder.Services.AddSwitchboard(b => b
            .Configure(o =>
            {
                o.Name = "dash-r-" + suffix;
                o.Retry.MaxAttempts = 1;
            })
            .UseRedis(new RedisTransportOptions { ConnectionString = Servers.Redis, StreamPrefix = prefix, BlockTime = TimeSpan.FromMilliseconds(50) })
            .RouteToTransport<DashOrder>("orders")
            .Handle<DashOrder>(o => failures.Handle(o.Id)));
        WebApplication web = builder.Build();

        // Lets a test pose as a caller from another machine (the server itself listens on loopback only).
        web.Use((context, next) =>
        {
            if (context.Request.Headers.ContainsKey("X-Test-Remote"))
            {
                context.Connection.RemoteIpAddress = IPAddress.Parse("203.0.113.7");
            }

            return next(context);
        });
        web.UseAuthentication();
        web.UseAuthorization();
        IMessageBus rabbitBus = rabbitHost.Services.GetRequiredService<IMessageBus>();
        RouteGroupBuilder group = web.MapSwitchboardDashboard("/switchboard", o =>
        {
            o.Operations = services => new SwitchboardOperations([.. services.GetRequiredService<IMessageBus>().GetOperations().Sources, .. rabbitBus.GetOperations().Sources]);
            configure?.Invoke(o);
        });
        if (requirePolicy)
        {
            group.RequireAuthorization("ops");
        }

        await web.StartAsync();
        return new DashboardApp(web, rabbitHost, prefix, exchange, rabbitGroup, failures);
    }

    /// <summary>Publishes orders over Redis that fail and waits until they are dead letters.</summary>
    public async Task DeadLetterOrdersAsync(params string[] ids)
    {
        long before = await RedisOrders.DeadLetters.CountAsync();
        foreach (string id in ids)
        {
            Failures.Fail(id);
            await RedisBus.PublishAsync(new DashOrder(id, 1999));
        }

        await WaitForAsync(async () => await RedisOrders.DeadLetters.CountAsync() == before + ids.Length, $"{ids.Length} Redis dead letters");
    }

    /// <summary>Publishes invoices over RabbitMQ that fail and waits until they are dead letters.</summary>
    public async Task DeadLetterInvoicesAsync(params string[] ids)
    {
        long before = await RabbitInvoices.DeadLetters.CountAsync();
        foreach (string id in ids)
        {
            Failures.Fail(id);
            await RabbitBus.PublishAsync(new DashInvoice(id, "ACME"));
        }

        await WaitForAsync(async () => await RabbitInvoices.DeadLetters.CountAsync() == before + ids.Length, $"{ids.Length} RabbitMQ dead letters");
    }

    public static async Task WaitForAsync(Func<Task<bool>> condition, string what)
    {
        using CancellationTokenSource cts = new(Patience);
        try
        {
            while (!await condition())
            {
                await Task.Delay(20, cts.Token);
            }
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"Waited {Patience.TotalSeconds} s for {what}.");
        }
    }

    public HttpClient CreateClient()
    {
        HttpClient client = new(new HttpClientHandler { UseCookies = true, CookieContainer = new CookieContainer() }) { BaseAddress = new Uri(DashboardUrl + "/") };
        return client;
    }

    public async ValueTask DisposeAsync()
    {
        await _web.StopAsync();
        await _web.DisposeAsync();
        await _rabbitHost.StopAsync();
        _rabbitHost.Dispose();
        await using (ConnectionMultiplexer redis = await ConnectionMultiplexer.ConnectAsync(Servers.Redis))
        {
            IDatabase db = redis.GetDatabase();
            foreach (IServer server in redis.GetServers())
            {
                await foreach (RedisKey key in server.KeysAsync(pattern: _prefix + ":*"))
                {
                    await db.KeyDeleteAsync(key);
                }
            }
        }

        ConnectionFactory factory = new() { Uri = Servers.RabbitMq };
        await using IConnection connection = await factory.CreateConnectionAsync();
        foreach (string destination in new[] { "invoices", _rabbitGroup })
        {
            foreach (string suffix in new[] { string.Empty, ".delay", ".dlq" })
            {
                await using IChannel channel = await connection.CreateChannelAsync();
                try
                {
                    await channel.QueueDeleteAsync($"{destination}.{_rabbitGroup}{suffix}", ifUnused: false, ifEmpty: false);
                }
                catch (OperationInterruptedException)
                {
                    // Never declared.
                }
            }
        }

        await using IChannel last = await connection.CreateChannelAsync();
        await last.ExchangeDeleteAsync(_exchange, ifUnused: false);
    }

    /// <summary>Which messages fail, and which were handled.</summary>
    public sealed class FailureSwitch
    {
        private readonly ConcurrentDictionary<string, byte> _failing = new(StringComparer.Ordinal);

        public ConcurrentQueue<string> Handled { get; } = new();

        public void Fail(string id) => _failing[id] = 0;

        public void Heal(string id) => _failing.TryRemove(id, out _);

        public void Handle(string id)
        {
            if (_failing.ContainsKey(id))
            {
                throw new InvalidOperationException($"Payment provider declined {id}: card expired");
            }

            Handled.Enqueue(id);
        }
    }

    /// <summary>Authenticates a request that carries <c>X-Test-User</c>.</summary>
    private sealed class HeaderAuthentication(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder)
        : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
    {
        protected override Task<AuthenticateResult> HandleAuthenticateAsync()
            => Task.FromResult(Request.Headers.TryGetValue("X-Test-User", out Microsoft.Extensions.Primitives.StringValues user)
                ? AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(new ClaimsIdentity([new Claim(ClaimTypes.Name, user.ToString())], "test")), "test"))
                : AuthenticateResult.NoResult());
    }
}

/// <summary>The servers scripts/servers.sh started. Without them the tests fail with this message; they never skip.</summary>
public static class Servers
{
    public static string Redis => Environment.GetEnvironmentVariable("SWITCHBOARD_REDIS") is { Length: > 0 } value
        ? value
        : throw new InvalidOperationException("SWITCHBOARD_REDIS is not set: run scripts/test.sh (it starts Redis through scripts/servers.sh) or set it to host:port.");

    public static Uri RabbitMq => Environment.GetEnvironmentVariable("SWITCHBOARD_RABBITMQ") is { Length: > 0 } value
        ? new Uri(value)
        : throw new InvalidOperationException("SWITCHBOARD_RABBITMQ is not set: run scripts/test.sh (it starts RabbitMQ through scripts/servers.sh) or set it to an amqp:// URL.");

    public static Uri Sqs => Environment.GetEnvironmentVariable("SWITCHBOARD_SQS") is { Length: > 0 } value
        ? new Uri(value)
        : throw new InvalidOperationException("SWITCHBOARD_SQS is not set: run scripts/test.sh (it starts the SQS emulator through scripts/servers.sh) or set it to http://127.0.0.1:9480.");

    /// <summary>Dummy keys for the emulator (it does not check them); distinctive, so a test can tell they are never printed.</summary>
    public static string SqsAccessKey => Environment.GetEnvironmentVariable("SWITCHBOARD_SQS_ACCESS_KEY") ?? "AKIDSBDASHBOARDTEST";

    public static string SqsSecretKey => Environment.GetEnvironmentVariable("SWITCHBOARD_SQS_SECRET_KEY") ?? "sbdash-secret-never-printed";

    public static string Chromium
    {
        get
        {
            string path = Environment.GetEnvironmentVariable("SWITCHBOARD_CHROMIUM") is { Length: > 0 } value ? value : "/usr/bin/chromium";
            return File.Exists(path)
                ? path
                : throw new InvalidOperationException($"No chromium at {path}: scripts/servers.sh start chromium installs Debian's (apt-get install chromium), or set SWITCHBOARD_CHROMIUM.");
        }
    }
}
