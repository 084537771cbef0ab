using Microsoft.Playwright;

namespace Switchboard.Dashboard.Tests;

/// <summary>
/// The dashboard in a real headless chromium (Debian's, driven by Playwright) against a real app with real Redis and
/// RabbitMQ dead letters: the user selects, replays with confirmation, sees the message handled and the count drop.
/// Screenshots of each page go to <c>SWITCHBOARD_SCREENSHOTS</c> (see <see cref="BrowserSession"/>).
/// </summary>
public sealed class DashboardBrowserTests : IAsyncLifetime
{
    private DashboardApp _app = null!;
    private BrowserSession _browser = null!;

    public async Task InitializeAsync()
    {
        _app = await DashboardApp.StartAsync();
        _browser = await BrowserSession.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _browser.DisposeAsync();
        await _app.DisposeAsync();
    }

    private Task<IPage> OpenAsync() => _browser.OpenAsync(_app.DashboardUrl);

    private Task ScreenshotAsync(IPage page, string name) => _browser.ScreenshotAsync(page, name);

    private static ILocator Row(IPage page, string source) => BrowserSession.Row(page, source);

    [Fact]
    public async Task Replay_FromTheDeadLetterPage_HandlesTheRedisMessage_AndTheCountDrops()
    {
        await _app.DeadLetterOrdersAsync("ord-1001", "ord-1002", "ord-1003");
        await _app.DeadLetterInvoicesAsync("inv-2001");
        IPage page = await OpenAsync();
        await Assertions.Expect(Row(page, _app.RedisOrders.Id).GetByTestId("dead-letter-count")).ToHaveTextAsync("3");
        await Assertions.Expect(Row(page, _app.RabbitInvoices.Id).GetByTestId("dead-letter-count")).ToHaveTextAsync("1");
        await Assertions.Expect(page.Locator("#banner")).ToContainTextAsync("loopback");
        await ScreenshotAsync(page, "dashboard-overview.png");

        await Row(page, _app.RedisOrders.Id).GetByTestId("dead-letter-count").ClickAsync();
        await Assertions.Expect(page.Locator("#dead-letters tbody tr[data-id]")).ToHaveCountAsync(3);
        await ScreenshotAsync(page, "dashboard-dead-letters.png");

        // Filter down to one, select it, replay it with confirmation.
        await page.FillAsync("input[name=text]", "ord-1002");
        await page.ClickAsync("#apply");
        await Assertions.Expect(page.Locator("#dead-letters tbody tr[data-id]")).ToHaveCountAsync(1);
        _app.Failures.Heal("ord-1002");
        await page.Locator("#dead-letters tbody tr[data-id] input[type=checkbox]").CheckAsync();
        await page.ClickAsync("#replay-selected");
        await Assertions.Expect(page.Locator("#confirm")).ToBeVisibleAsync();
        await Assertions.Expect(page.Locator("#confirm-text")).ToContainTextAsync("Replay 1 dead letter");
        await page.ClickAsync("#confirm-ok");

        await Assertions.Expect(page.Locator("#result")).ToHaveTextAsync("Replayed 1 of 1.");
        await DashboardApp.WaitForAsync(() => Task.FromResult(_app.Failures.Handled.Contains("ord-1002")), "ord-1002 handled after the replay");
        await page.ClickAsync("[data-nav=overview]");
        await Assertions.Expect(Row(page, _app.RedisOrders.Id).GetByTestId("dead-letter-count")).ToHaveTextAsync("2");
        Assert.DoesNotContain("ord-1001", _app.Failures.Handled);
    }

    [Fact]
    public async Task Replay_FromTheMessagePage_HandlesTheRabbitMqMessage_AndCancelDoesNothing()
    {
        await _app.DeadLetterInvoicesAsync("inv-3001");
        IPage page = await OpenAsync();
        await Row(page, _app.RabbitInvoices.Id).GetByTestId("dead-letter-count").ClickAsync();
        await page.Locator("#dead-letters tbody tr[data-id] a").First.ClickAsync();
        await Assertions.Expect(page.Locator("#body")).ToContainTextAsync("inv-3001");
        await Assertions.Expect(page.Locator("#exception")).ToContainTextAsync("card expired");
        await Assertions.Expect(page.Locator("#headers")).ToContainTextAsync("ce-type");
        await ScreenshotAsync(page, "dashboard-message.png");

        await page.ClickAsync("#replay-one");
        await page.ClickAsync("#confirm-cancel");
        Assert.Equal(1, await _app.RabbitInvoices.DeadLetters.CountAsync());

        _app.Failures.Heal("inv-3001");
        await page.ClickAsync("#replay-one");
        await page.ClickAsync("#confirm-ok");
        await Assertions.Expect(page.Locator("#result")).ToHaveTextAsync("Replayed 1 of 1.");
        await DashboardApp.WaitForAsync(() => Task.FromResult(_app.Failures.Handled.Contains("inv-3001")), "inv-3001 handled after the replay");
        await Assertions.Expect(page.Locator("#total")).ToContainTextAsync("0 in");
        await page.ClickAsync("[data-nav=overview]");
        await Assertions.Expect(Row(page, _app.RabbitInvoices.Id).GetByTestId("dead-letter-count")).ToHaveTextAsync("0");
    }

    [Fact]
    public async Task DeleteAllMatching_AsksFirst_ThenEmptiesTheFilteredSet_Only()
    {
        await _app.DeadLetterOrdersAsync("ord-4001", "ord-4002");
        IPage page = await OpenAsync();
        await Row(page, _app.RedisOrders.Id).GetByTestId("dead-letter-count").ClickAsync();
        await page.FillAsync("input[name=text]", "ord-4001");
        await page.ClickAsync("#apply");
        await Assertions.Expect(page.Locator("#dead-letters tbody tr[data-id]")).ToHaveCountAsync(1);

        await page.ClickAsync("#delete-matching");
        await Assertions.Expect(page.Locator("#confirm-text")).ToContainTextAsync("gone for good");
        await page.ClickAsync("#confirm-ok");

        await Assertions.Expect(page.Locator("#result")).ToHaveTextAsync("Deleted 1 of 1.");
        Assert.Equal(1, await _app.RedisOrders.DeadLetters.CountAsync());
        Assert.Empty(_app.Failures.Handled);
    }
}
