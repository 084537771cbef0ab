using Microsoft.Playwright;

namespace Switchboard.Dashboard.Tests;

/// <summary>
/// Debian's headless chromium driven by Playwright (its own browser download does not work here). Screenshots go to
/// <c>SWITCHBOARD_SCREENSHOTS</c> (docs/images when the guide is refreshed), else a temp folder.
/// </summary>
public sealed class BrowserSession : IAsyncDisposable
{
    private static readonly float Timeout = 20_000;
    private readonly IPlaywright _playwright;
    private readonly IBrowser _browser;
    private readonly string _screenshots = Environment.GetEnvironmentVariable("SWITCHBOARD_SCREENSHOTS") is { Length: > 0 } dir
        ? dir
        : Path.Combine(Path.GetTempPath(), "switchboard-screenshots");

    private BrowserSession(IPlaywright playwright, IBrowser browser)
    {
        _playwright = playwright;
        _browser = browser;
        Directory.CreateDirectory(_screenshots);
    }

    public static async Task<BrowserSession> StartAsync()
    {
        IPlaywright playwright = await Playwright.CreateAsync();
        IBrowser browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions { ExecutablePath = Servers.Chromium, Headless = true, Args = ["--no-sandbox"] });
        return new BrowserSession(playwright, browser);
    }

    /// <summary>Opens the dashboard and waits for the overview's first row.</summary>
    public async Task<IPage> OpenAsync(string dashboardUrl)
    {
        IPage page = await _browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1360, Height = 760 } });
        page.SetDefaultTimeout(Timeout);
        await page.GotoAsync(dashboardUrl);
        await page.Locator("#overview tbody tr").First.WaitForAsync();
        return page;
    }

    public Task ScreenshotAsync(IPage page, string name)
        => page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(_screenshots, name), FullPage = true });

    /// <summary>The overview's row of a source.</summary>
    public static ILocator Row(IPage page, string source) => page.Locator($"#overview tr[data-source='{source}']");

    public async ValueTask DisposeAsync()
    {
        await _browser.DisposeAsync();
        _playwright.Dispose();
    }
}
