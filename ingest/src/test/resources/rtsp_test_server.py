#!/usr/bin/python3
"""A small RTSP server for the ingest integration tests (issue 18 point 5).

Serves H.264 (a moving test pattern, or a file) at rtsp://127.0.0.1:PORT/test with GStreamer's
RTSP server (Debian: gir1.2-gst-rtsp-server-1.0 python3-gi python3-gst-1.0
gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-ugly). Prints
"READY <url>" on stdout once it listens; stops on SIGTERM/SIGINT (the test kills it to simulate a
camera going away, and starts it again on the same port).

  /usr/bin/python3 rtsp_test_server.py --port 8554 [--protocols udp|tcp|any] [--file F]
  /usr/bin/python3 rtsp_test_server.py --check     # exit 0 when everything needed is installed
"""
import argparse
import signal
import sys

NEEDED = ["videotestsrc", "x264enc", "rtph264pay", "videoconvert", "videoscale"]


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--port", type=int, default=8554)
    p.add_argument("--protocols", choices=["any", "udp", "tcp"], default="any",
                   help="lower transports the server allows (udp: a TCP SETUP gets 461)")
    p.add_argument("--file", help="serve this file (decoded and re-encoded) instead of a pattern")
    p.add_argument("--fps", type=int, default=10)
    p.add_argument("--width", type=int, default=160)
    p.add_argument("--height", type=int, default=120)
    p.add_argument("--check", action="store_true", help="only check the installation")
    a = p.parse_args()

    try:
        import gi
        gi.require_version("Gst", "1.0")
        gi.require_version("GstRtsp", "1.0")
        gi.require_version("GstRtspServer", "1.0")
        from gi.repository import GLib, Gst, GstRtsp, GstRtspServer
    except (ImportError, ValueError) as e:
        print("MISSING python3-gi / GStreamer RTSP server introspection: %s" % e, flush=True)
        sys.exit(2)
    Gst.init(None)
    missing = [e for e in NEEDED if Gst.ElementFactory.find(e) is None]
    if missing:
        print("MISSING GStreamer elements: %s" % " ".join(missing), flush=True)
        sys.exit(2)
    if a.check:
        print("OK", flush=True)
        return

    caps = "video/x-raw,width=%d,height=%d,framerate=%d/1" % (a.width, a.height, a.fps)
    if a.file:
        src = ('filesrc location="%s" ! decodebin ! videoconvert ! videoscale ! videorate ! %s'
               % (a.file.replace('"', ""), caps))
    else:
        src = "videotestsrc is-live=true pattern=ball ! %s" % caps
    launch = ("( %s ! videoconvert ! x264enc tune=zerolatency speed-preset=ultrafast threads=1"
              " key-int-max=%d bitrate=300 ! rtph264pay name=pay0 pt=96 config-interval=1 )"
              % (src, a.fps))

    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(str(a.port))
    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(launch)
    if a.protocols == "udp":
        factory.set_protocols(GstRtsp.RTSPLowerTrans.UDP)
    elif a.protocols == "tcp":
        factory.set_protocols(GstRtsp.RTSPLowerTrans.TCP)
    server.get_mount_points().add_factory("/test", factory)
    if server.attach(None) == 0:
        print("FAILED cannot listen on 127.0.0.1:%d" % a.port, flush=True)
        sys.exit(1)

    loop = GLib.MainLoop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, sig, loop.quit)
    print("READY rtsp://127.0.0.1:%d/test (%s)" % (a.port, a.protocols), flush=True)
    loop.run()


if __name__ == "__main__":
    main()
