using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Switchboard;
using Switchboard.Redis;

namespace Orders;

/// <summary>
/// The order flow with its failures on the operations page. The payment provider is down for the first 30 seconds, so
/// the first orders are dead-lettered; open the page, look at them, and replay them once the provider is back:
/// <code>dotnet run --project samples/Switchboard.Samples.Orders -- --dashboard</code>
/// (add <c>--redis 127.0.0.1:6379</c> to keep the messages and dead letters in Redis instead of in memory), then open
/// http://127.0.0.1:5080/switchboard.
/// </summary>
public static class WithDashboard
{
    public static async Task RunAsync(string[] args)
    {
        int at = Array.IndexOf(args, "--redis");
        string? redis = at < 0 ? null : at + 1 < args.Length && !args[at + 1].StartsWith('-') ? args[at + 1] : "127.0.0.1:6379";
        DateTimeOffset providerBack = DateTimeOffset.UtcNow.AddSeconds(30);

        WebApplicationBuilder builder = WebApplication.CreateBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:5080");
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Services.AddSwitchboardDashboard();
        builder.Services.AddSwitchboard(b =>
        {
            b.Configure(o =>
            {
                o.Name = "orders-dashboard";
                o.Retry.MaxAttempts = 2;
                o.Retry.InitialDelay = TimeSpan.FromMilliseconds(200);
            });
            if (redis is not null)
            {
                b.UseRedis(new RedisTransportOptions { ConnectionString = redis, StreamPrefix = "orders-sample" });
            }

            b.RouteToTransport<OrderCreated>("orders");
            b.Handle<OrderCreated>(e =>
            {
                if (DateTimeOffset.UtcNow < providerBack)
                {
                    throw new HttpRequestException($"Payment provider unavailable (503) while charging {e.OrderId}");
                }

                Narrator.Handler("payments", $"charged {e.OrderId} ({Narrator.Money(e.AmountCents)})");
            });
        });

        WebApplication app = builder.Build();
        app.MapSwitchboardDashboard("/switchboard");
        await app.StartAsync();

        IMessageBus bus = app.Services.GetRequiredService<IMessageBus>();
        foreach ((string id, string customer, long cents) in new[] { ("ord-501", "alice", 1999L), ("ord-502", "bob", 4500L), ("ord-503", "carol", 899L) })
        {
            await bus.PublishAsync(new OrderCreated(id, customer, cents));
        }

        Console.WriteLine($"Operations page: http://127.0.0.1:5080/switchboard ({(redis is null ? "in memory" : "over Redis")}).");
        Console.WriteLine("The payment provider is down for 30 seconds: the three orders become dead letters. Replay them from the page after that.");
        Console.WriteLine("Ctrl+C to stop.");
        await app.WaitForShutdownAsync();
    }
}
