package io.decostream.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.decostream.cli.Deco;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The web console in a real browser (issue 21 point 2): {@code deco demo --serve} runs in process
 * (the shipped ShapesWorld model, an 8 s clip), headless Debian chromium opens its page through
 * chromedriver, and the test checks what a person sees: the stream, its frames, an answer to a
 * question typed into the ask box with its R-GAE heatmap drawn over the frames, the message for an
 * empty or oversized question, and a budget changed in the page changing a live stream's next
 * frames' token grid. The page's screenshots go to target/console.png and console-budget.png.
 *
 * <p>Needs Debian's {@code chromium} and {@code chromium-driver} (.ci/run installs them); skips
 * without them. Selenium Manager is never used: the driver and browser paths are given, so nothing
 * is downloaded.
 */
@Timeout(400)
class ConsoleBrowserIT {
  static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");
  static final List<Path> CHROMIUM =
      List.of(Path.of("/usr/lib/chromium/chromium"), Path.of("/usr/bin/chromium"));
  static final String STREAM = "demo-cam";
  static final String QUESTION = "what color is the square?";

  /**
   * Selenium looks for a CDP binding matching the browser and warns when Debian's chromium is newer
   * or older than the ones it ships; the test uses WebDriver only.
   */
  static final java.util.logging.Logger CDP_LOG =
      java.util.logging.Logger.getLogger("org.openqa.selenium.devtools");

  static {
    CDP_LOG.setLevel(java.util.logging.Level.SEVERE);
  }

  @TempDir Path tmp;

  @Test
  void thePageShowsTheStreamAnswersATypedQuestionWithItsHeatmapAndRefusesEmptyOnes()
      throws Exception {
    Path chromium = CHROMIUM.stream().filter(Files::isExecutable).findFirst().orElse(null);
    assumeTrue(chromium != null, "Debian's chromium is not installed (apt-get install chromium)");
    assumeTrue(
        Files.isExecutable(CHROMEDRIVER),
        "Debian's chromedriver is not installed (apt-get install chromium-driver)");
    System.setProperty("SE_AVOID_STATS", "true");

    int port = freePort();
    AtomicInteger exit = new AtomicInteger(-1);
    // the demo prints its broker's address; a second stream is published to it later
    java.io.PrintStream original = System.out;
    java.io.ByteArrayOutputStream printed = new java.io.ByteArrayOutputStream();
    System.setOut(
        new java.io.PrintStream(
            new java.io.OutputStream() {
              @Override
              public void write(int b) {
                original.write(b);
                printed.write(b);
              }

              @Override
              public void write(byte[] b, int off, int len) {
                original.write(b, off, len);
                printed.write(b, off, len);
              }
            },
            true,
            java.nio.charset.StandardCharsets.UTF_8));
    Thread demo =
        new Thread(
            () ->
                exit.set(
                    Deco.run(
                        "demo",
                        "--serve",
                        "--web-port",
                        String.valueOf(port),
                        "--seconds",
                        "8",
                        "--question",
                        QUESTION,
                        "--max-new-tokens",
                        "4",
                        "--grounding-dir",
                        tmp.resolve("pictures").toString())),
            "deco-demo-serve");
    demo.start();
    String base = "http://127.0.0.1:" + port + "/";
    WebDriver browser = null;
    try {
      awaitConsole(base, demo, exit);
      browser = chrome(chromium);
      browser.get(base);
      WebDriverWait wait = new WebDriverWait(browser, Duration.ofSeconds(60));
      JavascriptExecutor js = (JavascriptExecutor) browser;

      // the stream appears and is shown; its latest frame is a real image
      wait.until(
          d ->
              !d.findElements(By.cssSelector("#streams li[data-stream='" + STREAM + "']"))
                  .isEmpty());
      wait.until(d -> d.findElement(By.id("stream-title")).getText().equals(STREAM));
      wait.until(
          d ->
              ((Number)
                          js.executeScript(
                              "const i = document.getElementById('latest-frame');"
                                  + " return i.complete ? i.naturalWidth : 0;"))
                      .longValue()
                  > 0);
      assertTrue(
          browser.findElements(By.cssSelector("#window-strip img")).size() >= 1,
          "the window strip shows frames");
      String budget = browser.findElement(By.id("budget-figure")).getText();
      assertTrue(budget.matches("\\d+ tokens per frame"), budget);
      // the stages' health: this stream's frames/s and latency, each stage's group and lag
      wait.until(
          d -> {
            String h = d.findElement(By.id("health")).getText();
            return h.contains("frames/s") && h.contains("llm-worker") && h.contains("lag");
          });
      String health = browser.findElement(By.id("health")).getText();
      assertTrue(health.contains("ms publish to tokens"), health);

      // an empty question: the console refuses it and the page says why
      WebElement text = browser.findElement(By.id("ask-text"));
      WebElement error = browser.findElement(By.id("ask-error"));
      text.clear();
      browser.findElement(By.id("ask-button")).click();
      wait.until(d -> error.isDisplayed());
      assertTrue(error.getText().contains("empty"), error.getText());
      // an oversized one (4097 bytes)
      js.executeScript("document.getElementById('ask-text').value = 'a'.repeat(4097);");
      browser.findElement(By.id("ask-button")).click();
      wait.until(d -> error.getText().contains("too long"));
      assertTrue(error.getText().contains("4096"), error.getText());

      // a question typed into the ask box gets its answer and a heatmap over the frames
      js.executeScript("document.getElementById('ask-text').value = '';");
      text.sendKeys(QUESTION);
      WebElement grounding = browser.findElement(By.id("ask-grounding"));
      if (!grounding.isSelected()) {
        grounding.click();
      }
      int answeredBefore = browser.findElements(By.cssSelector(".answer[data-answered]")).size();
      browser.findElement(By.id("ask-button")).click();
      wait.until(d -> !error.isDisplayed());
      WebDriverWait slow = new WebDriverWait(browser, Duration.ofSeconds(120));
      slow.until(
          d -> d.findElements(By.cssSelector(".answer[data-answered]")).size() > answeredBefore);
      WebElement card = browser.findElements(By.cssSelector(".answer[data-answered]")).get(0);
      assertTrue(card.findElement(By.className("q")).getText().contains(QUESTION));
      String answer = card.findElement(By.className("a")).getText().trim();
      assertFalse(answer.isEmpty(), "the answer's text is shown");
      assertFalse(answer.startsWith("no answer"), answer);
      assertTrue(
          card.findElement(By.className("muted")).getText().matches("(?s)frames \\d+\\.\\.\\d+ .*"),
          "the answer's frame range is shown");
      slow.until(d -> !card.findElements(By.cssSelector("canvas.heatmap[data-drawn]")).isEmpty());
      Number heat =
          (Number)
              js.executeScript(
                  "const c = arguments[0].querySelector('canvas.heatmap[data-drawn]');"
                      + " const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;"
                      + " let lit = 0; const colours = new Set();"
                      + " for (let i = 0; i < d.length; i += 4) {"
                      + "   if (d[i] + d[i + 1] + d[i + 2] > 30) lit++;"
                      + "   colours.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]); }"
                      + " return colours.size > 16 ? lit : 0;",
                  card);
      assertTrue(heat.longValue() > 0, "the heatmap canvas holds a picture");
      int canvases = card.findElements(By.cssSelector("canvas.heatmap")).size();
      assertTrue(canvases >= 1, "one heatmap per frame of the answer's window");
      List<WebElement> words = card.findElements(By.cssSelector(".words-bar button"));
      assertTrue(words.size() >= 2, "the answer's map and one per word");

      Path shot = Path.of("target", "console.png");
      Files.createDirectories(shot.getParent());
      Files.write(shot, ((TakesScreenshot) browser).getScreenshotAs(OutputType.BYTES));
      System.out.println("console screenshot: " + shot.toAbsolutePath());

      // frames appear as they arrive: a second camera published in real time while the page is open
      String bootstrap = brokerOf(printed.toString(java.nio.charset.StandardCharsets.UTF_8));
      Thread live = publishLive(bootstrap, tmp.resolve("live.mp4"));
      wait.until(
          d -> !d.findElements(By.cssSelector("#streams li[data-stream='cam-live']")).isEmpty());
      browser.findElement(By.cssSelector("#streams li[data-stream='cam-live'] button")).click();
      wait.until(d -> d.findElement(By.id("stream-title")).getText().equals("cam-live"));
      wait.until(d -> d.findElement(By.id("latest-frame")).getAttribute("data-index") != null);
      long first =
          Long.parseLong(browser.findElement(By.id("latest-frame")).getAttribute("data-index"));
      wait.until(
          d ->
              Long.parseLong(d.findElement(By.id("latest-frame")).getAttribute("data-index"))
                  > first);
      wait.until(
          d ->
              ((Number)
                          js.executeScript(
                              "const i = document.getElementById('latest-frame');"
                                  + " return i.complete ? i.naturalWidth : 0;"))
                      .longValue()
                  > 0);

      // changing the budget changes the next frames' token grid (issue 21 points 2 and 4): the
      // shipped model's own pooling gives 6x6 = 36 tokens per frame of its 12x12 patch grid;
      // avg:4 gives 4x4 = 16 from the stream's next frame on
      // (the figure reads "–" until cam-live's own tokens came: then the console knows its patch
      // grid, which it checks budgets against)
      WebElement figure = browser.findElement(By.id("budget-figure"));
      wait.until(d -> figure.getText().matches("\\d+ tokens per frame"));
      String before = figure.getText();
      assertFalse(before.startsWith("16 "), "the demo's grid already is 4x4: " + before);
      WebElement budgetText = browser.findElement(By.id("budget-text"));
      WebElement budgetError = browser.findElement(By.id("budget-error"));
      // a grid finer than the stream's patch grid is refused on the page, with the reason
      budgetText.sendKeys("avg:13");
      browser.findElement(By.id("budget-button")).click();
      wait.until(d -> budgetError.isDisplayed());
      assertTrue(
          budgetError.getText().contains("larger than the vision tower's 12x12 patch grid"),
          budgetError.getText());
      budgetText.clear();
      budgetText.sendKeys("avg:4");
      browser.findElement(By.id("budget-button")).click();
      wait.until(d -> d.findElement(By.id("budget-status")).getText().contains("avg:4x4 sent"));
      assertFalse(budgetError.isDisplayed(), budgetError.getText());
      wait.until(d -> figure.getText().equals("16 tokens per frame"));
      String detail = browser.findElement(By.id("budget-detail")).getText();
      assertTrue(detail.startsWith("grid 4×4 of 12×12 patches"), detail);
      Path budgetShot = Path.of("target", "console-budget.png");
      Files.write(budgetShot, ((TakesScreenshot) browser).getScreenshotAs(OutputType.BYTES));
      System.out.println("console budget screenshot: " + budgetShot.toAbsolutePath());
      live.join(60_000);
    } finally {
      System.setOut(original);
      if (browser != null) {
        browser.quit();
      }
      demo.interrupt(); // the in-process stand-in for SIGTERM
      demo.join(120_000);
    }
    assertFalse(demo.isAlive(), "deco demo --serve stops when asked to");
    assertEquals(0, exit.get(), "deco demo --serve exits 0");
  }

  /** The demo's "broker at HOST:PORT" line. */
  static String brokerOf(String printed) {
    java.util.regex.Matcher m =
        java.util.regex.Pattern.compile("broker at (\\S+)").matcher(printed);
    assertTrue(m.find(), "the demo prints its broker's address: " + printed);
    return m.group(1);
  }

  /**
   * Publishes a 20 s synthetic clip in real time as stream cam-live, in the background: long enough
   * that frames still come after the page changed the stream's budget.
   */
  static Thread publishLive(String bootstrap, Path clip) {
    io.decostream.ingest.SyntheticVideo.write(
        clip, io.decostream.ingest.SyntheticVideo.Spec.defaults(20).withSeed(3));
    io.decostream.ingest.PublishConfig pc =
        new io.decostream.ingest.PublishConfig(
            bootstrap,
            "cam-live",
            clip.toString(),
            1.0,
            true,
            false,
            io.decostream.schemas.TopicNames.defaults(),
            java.util.OptionalLong.empty());
    Thread t =
        new Thread(
            () -> {
              try (io.decostream.ingest.Publisher p = new io.decostream.ingest.Publisher(pc)) {
                p.run();
              } catch (Exception e) {
                throw new IllegalStateException("publishing cam-live failed", e);
              }
            },
            "publish-cam-live");
    t.start();
    return t;
  }

  static WebDriver chrome(Path chromium) {
    ChromeDriverService service =
        new ChromeDriverService.Builder()
            .usingDriverExecutable(CHROMEDRIVER.toFile())
            .usingAnyFreePort()
            .build();
    ChromeOptions options = new ChromeOptions();
    options.setBinary(chromium.toFile());
    options.addArguments(
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1280,1400");
    return new ChromeDriver(service, options);
  }

  /** Waits until the console answers, failing early when the demo ended instead. */
  static void awaitConsole(String base, Thread demo, AtomicInteger exit) throws Exception {
    HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    long deadline = System.nanoTime() + Duration.ofSeconds(300).toNanos();
    while (System.nanoTime() < deadline) {
      if (!demo.isAlive()) {
        throw new AssertionError(
            "deco demo --serve ended (exit " + exit.get() + ") before serving");
      }
      try {
        HttpResponse<String> r =
            http.send(
                HttpRequest.newBuilder(URI.create(base + "api/streams")).build(),
                HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() == 200 && r.body().contains(STREAM)) {
          return;
        }
      } catch (java.io.IOException notYet) {
        // the demo is still working through its own questions
      }
      Thread.sleep(500);
    }
    throw new AssertionError("the console did not come up at " + base);
  }

  static int freePort() throws Exception {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }
}
