package io.decostream.ingest;

import java.time.Duration;
import java.util.Locale;
import java.util.Objects;

/**
 * How a {@link Chunker} connects to a live source (rtsp:// and other URLs, /dev/videoN) and what it
 * does when the connection is lost (issue 18 point 5). Files ignore these settings.
 *
 * @param rtspTransport how RTSP media travels: TCP (interleaved on the control connection), UDP
 *     (RTP/RTCP datagrams), or AUTO: TCP first, UDP when TCP cannot be set up (e.g. a UDP-only
 *     server answering {@code 461 Unsupported transport}). TCP is tried first because it passes NAT
 *     and firewalls and loses no packets; the transport that worked is tried first on the next
 *     reconnect
 * @param reconnectInitial wait before the first reconnect attempt after a loss (&gt; 0)
 * @param reconnectMax the backoff doubles after each failed attempt up to this (&ge; initial)
 * @param giveUpAfter how long the source may stay unreachable (from the moment the connection was
 *     found lost, or from the first failed connect) before the chunker gives up with a {@link
 *     SourceLostException} (&ge; 0; 0 = give up at the first loss)
 */
public record LiveOptions(
    RtspTransport rtspTransport,
    Duration reconnectInitial,
    Duration reconnectMax,
    Duration giveUpAfter) {

  /** RTSP lower transport (FFmpeg's {@code rtsp_transport}). */
  public enum RtspTransport {
    TCP,
    UDP,
    AUTO;

    /** FFmpeg's option value ("tcp", "udp"); AUTO has none. */
    public String ffmpegName() {
      if (this == AUTO) {
        throw new IllegalStateException("AUTO is not an FFmpeg transport");
      }
      return name().toLowerCase(Locale.ROOT);
    }
  }

  public LiveOptions {
    Objects.requireNonNull(rtspTransport, "rtspTransport");
    Objects.requireNonNull(reconnectInitial, "reconnectInitial");
    Objects.requireNonNull(reconnectMax, "reconnectMax");
    Objects.requireNonNull(giveUpAfter, "giveUpAfter");
    if (reconnectInitial.isNegative() || reconnectInitial.isZero()) {
      throw new IllegalArgumentException(
          "reconnect initial backoff must be > 0, got " + reconnectInitial);
    }
    if (reconnectMax.compareTo(reconnectInitial) < 0) {
      throw new IllegalArgumentException(
          "reconnect max backoff ("
              + reconnectMax
              + ") must be >= the initial backoff ("
              + reconnectInitial
              + ")");
    }
    if (giveUpAfter.isNegative()) {
      throw new IllegalArgumentException("give-up time must be >= 0, got " + giveUpAfter);
    }
  }

  /** AUTO transport, backoff 0.5 s doubling to 10 s, give up after 60 s. */
  public static LiveOptions defaults() {
    return new LiveOptions(
        RtspTransport.AUTO, Duration.ofMillis(500), Duration.ofSeconds(10), Duration.ofSeconds(60));
  }

  public LiveOptions withRtspTransport(RtspTransport t) {
    return new LiveOptions(t, reconnectInitial, reconnectMax, giveUpAfter);
  }

  public LiveOptions withBackoff(Duration initial, Duration max) {
    return new LiveOptions(rtspTransport, initial, max, giveUpAfter);
  }

  public LiveOptions withGiveUpAfter(Duration d) {
    return new LiveOptions(rtspTransport, reconnectInitial, reconnectMax, d);
  }
}
