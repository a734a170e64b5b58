using System.Text.Json;
using Microsoft.Playwright;

namespace BeliefLens.Reporting.Tests;

/// <summary>Loads a generated report in Debian's headless Chromium (no Playwright browser download).</summary>
public class BrowserReportTests
{
    public const string ChromiumPath = "/usr/bin/chromium";

    /// <summary>Where the screenshot goes; set BELIEFLENS_SCREENSHOT to keep it somewhere specific.</summary>
    private static string ScreenshotPath =>
        Environment.GetEnvironmentVariable("BELIEFLENS_SCREENSHOT") is { Length: > 0 } p ? p : Path.Combine(Path.GetTempPath(), "belieflens-report-screenshot.png");

    [Fact]
    public async Task Report_renders_in_chromium_with_every_image_decoded_and_no_console_errors()
    {
        Assert.True(File.Exists(ChromiumPath), $"Chromium not found at {ChromiumPath}: install it with 'apt-get install chromium' (the browser test needs it).");

        using var dir = new TempDirectory();
        var run = new SyntheticRun(depth: 5);
        var (figures, frames, animation) = run.WriteFigures(dir.Path);
        string reportPath = Path.Combine(dir.Path, "report.html");
        HtmlReport.Write(run.Report(figures, frames, animation), reportPath);

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
        Assert.Equal(figures.Count + frames.Count + 1, images.Count); // + the GIF
        Assert.All(images, i =>
        {
            Assert.True(i.ok, "an image did not finish loading");
            Assert.True(i.w > 0 && i.h > 0, $"an image decoded to {i.w}x{i.h}");
        });

        // The slider shows one checkpoint at a time; moving it must switch frames without script errors.
        var slider = page.Locator("input[type=range]");
        await slider.FillAsync("0");
        int visible = await page.EvaluateAsync<int>("() => Array.from(document.querySelectorAll('.slider .frame')).filter(f => !f.hidden).length");
        Assert.Equal(1, visible);
        bool firstShown = await page.EvaluateAsync<bool>("() => !document.querySelector('.slider .frame').hidden");
        Assert.True(firstShown);
        await slider.FillAsync((frames.Count - 1).ToString(System.Globalization.CultureInfo.InvariantCulture));

        await page.ScreenshotAsync(new PageScreenshotOptions { Path = ScreenshotPath, FullPage = true });
        Assert.True(new FileInfo(ScreenshotPath).Length > 10_000);
        Assert.Empty(errors);
        Assert.Empty(failedRequests);
    }

#pragma warning disable IDE1006, SA1300 // names match the JSON produced in the page
    private sealed record ImageState(bool ok, int w, int h);
#pragma warning restore IDE1006, SA1300
}
