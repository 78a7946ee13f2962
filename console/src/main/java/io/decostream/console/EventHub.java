package io.decostream.console;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArraySet;
import java.util.concurrent.TimeUnit;

/**
 * Server-sent events to every open page (issue 21 point 1: "Live updates from the topics"). Each
 * page has a bounded queue; a page that cannot keep up (its queue full) is dropped, and its
 * EventSource reconnects and reloads the state, so a slow browser never slows the topic reader.
 */
final class EventHub {
  /**
   * A comment line every so often keeps proxies and Jetty's idle timeout from closing the stream.
   */
  static final long HEARTBEAT_MILLIS = 10_000;

  private static final int QUEUE = 1024;
  private static final String CLOSE = "\u0000close";

  private final ObjectMapper json;
  private final Set<BlockingQueue<String>> clients = new CopyOnWriteArraySet<>();
  private volatile boolean closed;

  EventHub(ObjectMapper json) {
    this.json = json;
  }

  /** Sends {@code e} to every page. */
  void publish(ConsoleState.Event e) {
    String text;
    try {
      text = "event: " + e.name() + "\ndata: " + json.writeValueAsString(e.data()) + "\n\n";
    } catch (JsonProcessingException ex) {
      throw new IllegalStateException("cannot write event " + e.name() + " as JSON", ex);
    }
    for (BlockingQueue<String> q : clients) {
      if (!q.offer(text)) {
        q.clear();
        q.offer(CLOSE);
        clients.remove(q);
      }
    }
  }

  int clients() {
    return clients.size();
  }

  /**
   * Streams events to {@code out} until the page goes away or the hub closes (blocks the calling
   * server thread).
   */
  void stream(OutputStream out) throws IOException, InterruptedException {
    BlockingQueue<String> q = new ArrayBlockingQueue<>(QUEUE);
    clients.add(q);
    try {
      // the browser retries after 2 s if the console restarts
      out.write("retry: 2000\n: connected\n\n".getBytes(StandardCharsets.UTF_8));
      out.flush();
      while (!closed) {
        String text = q.poll(HEARTBEAT_MILLIS, TimeUnit.MILLISECONDS);
        if (text == CLOSE) {
          break;
        }
        out.write((text == null ? ": ping\n\n" : text).getBytes(StandardCharsets.UTF_8));
        out.flush();
      }
    } finally {
      clients.remove(q);
    }
  }

  void close() {
    closed = true;
    for (BlockingQueue<String> q : clients) {
      q.clear();
      q.offer(CLOSE);
    }
  }
}
