using System.Collections.Concurrent;
using System.Diagnostics;

namespace Switchboard.IntegrationTests.Redis;

/// <summary>A consumer process killed in the middle of a handler: its unacknowledged message reaches a survivor.</summary>
public sealed class RedisKilledConsumerTests : IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);
    private readonly string _prefix = RedisServer.NewPrefix();

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync() => RedisServer.DeleteKeysAsync(_prefix);

    [Fact]
    public async Task Consumer_KilledMidHandler_MessageRedeliveredToSurvivor()
    {
        string worker = Path.Combine(AppContext.BaseDirectory, "Switchboard.IntegrationTests.Worker.dll");
        Assert.True(File.Exists(worker), $"the worker is built next to the tests: {worker}");
        ProcessStartInfo start = new("dotnet")
        {
            ArgumentList = { worker, RedisServer.ConnectionString, _prefix, "orders", "billing" },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        BlockingCollection<string> lines = [];
        using Process child = Process.Start(start)!;
        child.OutputDataReceived += (_, e) => { if (e.Data is not null) { lines.Add(e.Data); } };
        child.ErrorDataReceived += (_, _) => { };
        child.BeginOutputReadLine();
        child.BeginErrorReadLine();
        try
        {
            WaitForLine(lines, "ready");
            await using IMessageBus sender = MessageBus.Create(b => b
                .Configure(o => o.Name = "web")
                .UseRedis(Options())
                .AddMessageType<RtOrderPlaced>("worker.order-placed")
                .RouteToTransport<RtOrderPlaced>("orders"));
            await sender.PublishAsync(new RtOrderPlaced("k-1"));
            WaitForLine(lines, "handling k-1");
        }
        finally
        {
            child.Kill(entireProcessTree: true);
            await child.WaitForExitAsync();
        }

        TaskCompletionSource<int> survivorGotIt = new(TaskCreationOptions.RunContinuationsAsynchronously);
        await using IMessageBus survivor = MessageBus.Create(b => b
            .Configure(o => o.Name = "billing")
            .UseRedis(Options())
            .AddMessageType<RtOrderPlaced>("worker.order-placed")
            .RouteToTransport<RtOrderPlaced>("orders")
            .Handle<RtOrderPlaced>((e, context, ct) =>
            {
                if (e.Id == "k-1")
                {
                    survivorGotIt.TrySetResult(context.Attempt);
                }

                return ValueTask.CompletedTask;
            }));

        int attempt = await survivorGotIt.Task.WaitAsync(Patience);
        Assert.True(attempt >= 2, $"the redelivery counts the killed attempt (attempt {attempt})");
    }

    private Switchboard.Redis.RedisTransportOptions Options() => new()
    {
        ConnectionString = RedisServer.ConnectionString,
        StreamPrefix = _prefix,
        BlockTime = TimeSpan.FromMilliseconds(50),
        ClaimMinIdleTime = TimeSpan.FromSeconds(1),
    };

    private static void WaitForLine(BlockingCollection<string> lines, string expected)
    {
        using CancellationTokenSource timeout = new(Patience);
        foreach (string line in lines.GetConsumingEnumerable(timeout.Token))
        {
            if (line == expected)
            {
                return;
            }
        }
    }
}
