package io.decostream.shapes;

/**
 * Ground truth of one shape in one frame, in the pixels of the rendered frame.
 *
 * @param shape the shape
 * @param centerX centre x in pixels
 * @param centerY centre y in pixels
 * @param box bounding box in pixels
 * @param cell the 3x3 grid cell holding the centre
 */
public record ShapeState(Shape shape, double centerX, double centerY, Box box, GridCell cell) {}
