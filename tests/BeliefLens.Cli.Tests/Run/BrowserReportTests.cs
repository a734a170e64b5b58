using System.Text.Json;
using BeliefLens.Cli.Run;
using Microsoft.Playwright;

namespace BeliefLens.Cli.Tests.Run;

/// <summary>
/// Loads the report.html a real (tiny) run wrote, through the same pipeline as <c>belieflens run</c>, in Debian's
/// headless Chromium (no Playwright browser download).
/// </summary>
public sealed class BrowserReportTests(FinishedTinyRun run) : IClassFixture<FinishedTinyRun>
{
    public const string ChromiumPath = "/usr/bin/chromium";

    /// <summary>Where the screenshot goes; set BELIEFLENS_SCREENSHOT to keep it somewhere specific.</summary>
    private static string ScreenshotPath =>
        Environment.GetEnvironmentVariable("BELIEFLENS_SCREENSHOT") is { Length: > 0 } p ? p : Path.Combine(Path.GetTempPath(), "belieflens-report-screenshot.png");

    [Fact]
    public async Task TheRunsReportRendersInChromiumWithEveryImageDecodedAndNoConsoleErrors()
    {
        Assert.True(File.Exists(ChromiumPath), $"Chromium not found at {ChromiumPath}: install it with 'apt-get install chromium' (the browser test needs it; .ci/run does this).");
        string reportPath = RunFiles.Report(run.Directory);
        string figures = RunFiles.Figures(run.Directory);
        int written = Directory.GetFiles(figures, "*.png").Length + Directory.GetFiles(figures, "*.gif").Length;

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            Args =
            [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run",
            ],
        });
        var page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1280, Height = 900 } });
        var errors = new List<string>();
        page.Console += (_, message) =>
        {
            if (message.Type == "error")
            {
                errors.Add(message.Text);
            }
        };
        page.PageError += (_, error) => errors.Add(error);
        var failedRequests = new List<string>();
        page.RequestFailed += (_, request) => failedRequests.Add(request.Url[..Math.Min(80, request.Url.Length)]);

        await page.GotoAsync(new Uri(reportPath).AbsoluteUri, new PageGotoOptions { WaitUntil = WaitUntilState.Load });

        string json = await page.EvaluateAsync<string>(
            "() => JSON.stringify(Array.from(document.images).map(i => ({ok: i.complete, w: i.naturalWidth, h: i.naturalHeight})))");
        var images = JsonSerializer.Deserialize<List<ImageState>>(json)!;
        Assert.True(written >= 7, $"the run wrote only {written} figures");
        Assert.Equal(written, images.Count); // every figure the run wrote is in the page, nothing else
        Assert.All(images, i =>
        {
            Assert.True(i.ok, "an image did not finish loading");
            Assert.True(i.w > 0 && i.h > 0, $"an image decoded to {i.w}x{i.h}");
        });

        await page.ScreenshotAsync(new PageScreenshotOptions { Path = ScreenshotPath, FullPage = true });
        Assert.True(new FileInfo(ScreenshotPath).Length > 10_000);
        Assert.Empty(errors);
        Assert.Empty(failedRequests);
    }

#pragma warning disable IDE1006, SA1300 // names match the JSON produced in the page
    private sealed record ImageState(bool ok, int w, int h);
#pragma warning restore IDE1006, SA1300
}
