/**
 * ShapesWorld (issue 5, point 1): the synthetic video world the bundled demo model is trained and
 * evaluated on. Pure Java (AWT rendering, Jackson for JSON Lines), no Kafka, DJL or JavaCV, so the
 * model layer (training) and the stream layer (ingest, cli) can both use it. Start at {@link
 * io.decostream.shapes.ShapesWorld}.
 */
package io.decostream.shapes;
