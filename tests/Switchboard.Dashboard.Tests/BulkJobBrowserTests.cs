using Microsoft.Playwright;

namespace Switchboard.Dashboard.Tests;

/// <summary>
/// A bulk replay on the page, in a real chromium, over real Redis dead letters held message by message by a
/// <see cref="Gate"/>: the page shows the job's progress as it goes, Cancel stops it after the current message, and
/// running it again replays only what is left — every message handled exactly once.
/// </summary>
public sealed class BulkJobBrowserTests : IAsyncLifetime
{
    private readonly Gate _gate = new();
    private DashboardApp _app = null!;
    private BrowserSession _browser = null!;

    public async Task InitializeAsync()
    {
        _app = await DashboardApp.StartAsync(o =>
        {
            Func<IServiceProvider, Operations.SwitchboardOperations> inner = o.Operations!;
            o.Operations = services => _gate.Wrap(inner(services));
        });
        _browser = await BrowserSession.StartAsync();
    }

    public async Task DisposeAsync()
    {
        _gate.Release(100);
        await _browser.DisposeAsync();
        await _app.DisposeAsync();
    }

    [Fact]
    public async Task ReplayAllMatching_ShowsLiveProgress_CancelStopsIt_AndRunningItAgainFinishes_WithoutReplayingTwice()
    {
        string[] ids = ["bulk-1", "bulk-2", "bulk-3", "bulk-4"];
        await _app.DeadLetterOrdersAsync(ids);
        foreach (string id in ids)
        {
            _app.Failures.Heal(id);
        }

        IPage page = await _browser.OpenAsync(_app.DashboardUrl);
        await BrowserSession.Row(page, _app.RedisOrders.Id).GetByTestId("dead-letter-count").ClickAsync();
        await Assertions.Expect(page.Locator("#dead-letters tbody tr[data-id]")).ToHaveCountAsync(4);
        await page.ClickAsync("#replay-matching");
        await page.ClickAsync("#confirm-ok");

        await Assertions.Expect(page.Locator("#job-progress")).ToHaveTextAsync("Replaying: 0 of 4 done");
        _gate.Release(2);
        await Assertions.Expect(page.Locator("#job-progress")).ToHaveTextAsync("Replaying: 2 of 4 done");
        await Assertions.Expect(page.Locator("#job-bar")).ToHaveJSPropertyAsync("value", 2);
        await _browser.ScreenshotAsync(page, "dashboard-bulk-progress.png");

        await page.ClickAsync("#job-cancel");
        await Assertions.Expect(page.Locator("#result")).ToHaveTextAsync("Cancelled: replayed 2 of 4; the others are untouched. Run it again to finish.");
        await Assertions.Expect(page.Locator("#dead-letters tbody tr[data-id]")).ToHaveCountAsync(2);
        Assert.Equal(2, await _app.RedisOrders.DeadLetters.CountAsync());
        await DashboardApp.WaitForAsync(() => Task.FromResult(_app.Failures.Handled.Count == 2), "the two replayed messages handled");

        // Again: only the two left are selected and replayed.
        await page.ClickAsync("#replay-matching");
        await page.ClickAsync("#confirm-ok");
        await Assertions.Expect(page.Locator("#job-progress")).ToHaveTextAsync("Replaying: 0 of 2 done");
        _gate.Release(2);
        await Assertions.Expect(page.Locator("#result")).ToHaveTextAsync("Replayed 2 of 2.");
        await DashboardApp.WaitForAsync(() => Task.FromResult(_app.Failures.Handled.Count == 4), "all four handled");
        Assert.Equal(ids, _app.Failures.Handled.Order(StringComparer.Ordinal));
        Assert.Equal(0, await _app.RedisOrders.DeadLetters.CountAsync());
    }
}

/// <summary>The SQS transport on the page, in a real chromium, against the SQS emulator.</summary>
public sealed class SqsBrowserTests : IAsyncLifetime
{
    private SqsDashboardApp _app = null!;
    private BrowserSession _browser = null!;

    public async Task InitializeAsync()
    {
        _app = await SqsDashboardApp.StartAsync();
        _browser = await BrowserSession.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _browser.DisposeAsync();
        await _app.DisposeAsync();
    }

    [Fact]
    public async Task Sqs_OnTheOverview_WithItsDeadLetters_ReplayedFromTheList_AndTheCountDrops()
    {
        await _app.DeadLetterParcelsAsync("parcel-1", "parcel-2");
        IPage page = await _browser.OpenAsync(_app.DashboardUrl);
        ILocator row = BrowserSession.Row(page, _app.Parcels.Id);
        await Assertions.Expect(row.GetByTestId("dead-letter-count")).ToHaveTextAsync("2");
        await Assertions.Expect(row).ToContainTextAsync("card expired");
        await _browser.ScreenshotAsync(page, "dashboard-overview-sqs.png");

        await row.GetByTestId("dead-letter-count").ClickAsync();
        await Assertions.Expect(page.Locator("#dead-letters tbody tr[data-id]")).ToHaveCountAsync(2);
        await page.FillAsync("input[name=text]", "parcel-1");
        await page.ClickAsync("#apply");
        await Assertions.Expect(page.Locator("#dead-letters tbody tr[data-id]")).ToHaveCountAsync(1);
        _app.Failures.Heal("parcel-1");
        await page.Locator("#dead-letters tbody tr[data-id] input[type=checkbox]").CheckAsync();
        await page.ClickAsync("#replay-selected");
        await page.ClickAsync("#confirm-ok");

        await Assertions.Expect(page.Locator("#result")).ToHaveTextAsync("Replayed 1 of 1.");
        await DashboardApp.WaitForAsync(() => Task.FromResult(_app.Failures.Handled.Contains("parcel-1")), "parcel-1 handled after the replay");
        await page.ClickAsync("[data-nav=overview]");
        await Assertions.Expect(BrowserSession.Row(page, _app.Parcels.Id).GetByTestId("dead-letter-count")).ToHaveTextAsync("1");
        Assert.DoesNotContain("parcel-2", _app.Failures.Handled);
    }
}
