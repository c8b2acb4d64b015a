<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="en" sourcelanguage="en">
<context>
    <name>@default</name>
    <message>
        <location filename="../plugin/gui/dock.py" line="43"/>
        <source>Automatic (from the instruction)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="276"/>
        <source>Detect objects</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="290"/>
        <source>Segment</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="304"/>
        <source>Detect changes</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/dock.py" line="44"/>
        <source>Describe the image</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="332"/>
        <source>Describe regions</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/dock.py" line="44"/>
        <source>Answer a question</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/dock.py" line="44"/>
        <source>Classify the scene</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/dock.py" line="45"/>
        <source>Geolocate</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/dock.py" line="50"/>
        <source>Whole layer</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/dock.py" line="50"/>
        <source>Current map extent</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/dock.py" line="50"/>
        <source>Selected features of</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/dock.py" line="67"/>
        <source>starting…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/dock.py" line="71"/>
        <source>Cancel this run</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/dock.py" line="80"/>
        <source>{done}/{total} tiles</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/dock.py" line="105"/>
        <source>GeoRSMLLM</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/dock.py" line="113"/>
        <source>Backend: not connected</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/dock.py" line="115"/>
        <source>Start / restart backend</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/dock.py" line="124"/>
        <source>e.g. segment all buildings north of the river</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/dock.py" line="135"/>
        <source>Task</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/dock.py" line="290"/>
        <source>Image</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/dock.py" line="145"/>
        <source>After image</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/dock.py" line="157"/>
        <source>Area</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="335"/>
        <source>Features to describe</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/dock.py" line="164"/>
        <source>farmland, forest, city (optional)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/dock.py" line="165"/>
        <source>Classes</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/dock.py" line="170"/>
        <source>Vector layers the instruction may name (&quot;within 200 m of roads&quot;)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/dock.py" line="171"/>
        <source>Context layers</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/dock.py" line="175"/>
        <source>Show plan</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/dock.py" line="177"/>
        <source>Run</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/models_dialog.py" line="138"/>
        <source>Cancel</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/dock.py" line="187"/>
        <source>Runs</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/dock.py" line="197"/>
        <source>Captions, answers and messages appear here.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/logic/prepare.py" line="212"/>
        <source>Write an instruction first.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/dock.py" line="230"/>
        <source>Add a raster layer to the project and choose it.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/dock.py" line="246"/>
        <source>There is no map canvas to take the extent from.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/dock.py" line="271"/>
        <source>Asking the backend for a plan…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/dock.py" line="290"/>
        <source>Before image</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/dock.py" line="313"/>
        <source>Backend: not connected ({reason})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/dock.py" line="327"/>
        <source>Backend: connected — model {model}, device {device}, memory {memory}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/dock.py" line="335"/>
        <source>No plan: {reason}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/logic/results.py" line="39"/>
        <source>Task: {task} ({reason})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/dock.py" line="338"/>
        <source>Dialect: {dialect}; parser: {parser}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/dock.py" line="341"/>
        <source>model step</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/dock.py" line="341"/>
        <source>GIS filter</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/dock.py" line="346"/>
        <source>Warning: {text}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/dock.py" line="367"/>
        <source>starting the backend…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/dock.py" line="367"/>
        <source>uploading…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/dock.py" line="367"/>
        <source>submitting…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/dock.py" line="367"/>
        <source>running…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/layer_actions.py" line="37"/>
        <source>Ask GeoRSMLLM…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/layer_actions.py" line="37"/>
        <source>Detect objects…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/layer_actions.py" line="37"/>
        <source>Segment…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/layer_actions.py" line="37"/>
        <source>Describe this image</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/layer_actions.py" line="37"/>
        <source>Detect changes against…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/layer_actions.py" line="44"/>
        <source>Describe these features</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/options.py" line="70"/>
        <source>Backend</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/options.py" line="75"/>
        <source>Python interpreter</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/options.py" line="77"/>
        <source>empty: start a local backend</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/options.py" line="78"/>
        <source>Server URL</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/options.py" line="81"/>
        <source>Server token</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/options.py" line="86"/>
        <source>Start-up timeout</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/options.py" line="89"/>
        <source>More backend options</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/options.py" line="107"/>
        <source>Model</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/options.py" line="104"/>
        <source>Engine</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/options.py" line="106"/>
        <source>model folder or hub id (empty: the backend&apos;s default)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/options.py" line="110"/>
        <source>Model server (openai engine)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/options.py" line="111"/>
        <source>(the model family&apos;s own)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/options.py" line="112"/>
        <source>Dialect</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/options.py" line="114"/>
        <source>empty: rule-based; &apos;same&apos;: the main model</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/options.py" line="115"/>
        <source>Condition parser model</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/options.py" line="117"/>
        <source>Segmenter</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/options.py" line="120"/>
        <source>SAM2 checkpoint</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/options.py" line="122"/>
        <source>Device</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/options.py" line="125"/>
        <source>Tiling</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/options.py" line="130"/>
        <source>Tile size (px)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/options.py" line="134"/>
        <source>Overlap (px)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/options.py" line="139"/>
        <source>native</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/options.py" line="140"/>
        <source>Target GSD (map units/px)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/options.py" line="144"/>
        <source>Tiles in flight</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/options.py" line="148"/>
        <source>Results folder</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/logic/live_layer.py" line="47"/>
        <source>{title} (running)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/logic/prepare.py" line="112"/>
        <source>The layer {name} could not be exported for the backend: {reason}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/logic/prepare.py" line="140"/>
        <source>The layer {name} has no features to describe.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/logic/prepare.py" line="165"/>
        <source>No map extent was given.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/logic/prepare.py" line="171"/>
        <source>Choose a polygon layer whose selected features give the area.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/logic/prepare.py" line="173"/>
        <source>Select features in {name} first.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/logic/prepare.py" line="176"/>
        <source>Unknown area {area}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/logic/prepare.py" line="180"/>
        <source>The chosen area does not overlap the raster {name}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/logic/prepare.py" line="187"/>
        <source>Choose a valid raster layer for {what}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/logic/prepare.py" line="213"/>
        <source>the image</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/logic/prepare.py" line="214"/>
        <source>the &apos;after&apos; image</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/logic/prepare.py" line="216"/>
        <source>Change detection needs a second (&apos;after&apos;) raster layer.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/logic/prepare.py" line="249"/>
        <source>The layer of features to describe is missing.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/logic/raster_source.py" line="63"/>
        <source>The layer {name} could not be rendered for upload.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/logic/raster_source.py" line="87"/>
        <source>The raster layer is missing or invalid.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/logic/raster_source.py" line="94"/>
        <source>The area to send lies outside the layer {name}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/logic/results.py" line="53"/>
        <source>Partial result: the run was cancelled.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/logic/tasks.py" line="38"/>
        <source>GeoRSMLLM: connecting to the backend</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/logic/tasks.py" line="42"/>
        <source>not checked</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/logic/tasks.py" line="54"/>
        <source>local backend not started</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/logic/tasks.py" line="72"/>
        <source>GeoRSMLLM: planning</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/logic/tasks.py" line="103"/>
        <source>GeoRSMLLM: {title}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/main.py" line="81"/>
        <source>GeoRSMLLM panel</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/main.py" line="82"/>
        <source>Settings…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/main.py" line="84"/>
        <source>About GeoRSMLLM</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/main.py" line="192"/>
        <source>No visible raster layer lies under {name}: add the image to describe.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/main.py" line="224"/>
        <source>GeoRSMLLM {version}
Natural-language instructions on raster layers.
Issues: {tracker}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="101"/>
        <source>Vision-language tasks</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="114"/>
        <source>Instruction</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="118"/>
        <source>Raster layer</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="123"/>
        <source>Area of interest (whole layer when empty)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="126"/>
        <source>Context vector layers the instruction may name</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="129"/>
        <source>Tile size (pixels sent to the model)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="131"/>
        <source>Tile overlap (pixels)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="133"/>
        <source>Target ground sample distance (map units per pixel, 0: native)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="139"/>
        <source>Result layer</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="141"/>
        <source>Text answer</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="142"/>
        <source>Run id</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="143"/>
        <source>GeoPackage with every layer of the run</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="144"/>
        <source>Number of features</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="161"/>
        <source>The input raster layer is missing or invalid.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="165"/>
        <source>The instruction is empty: say what to look for.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="171"/>
        <source>The area of interest does not overlap the raster.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="181"/>
        <source>Change detection needs a valid second (&apos;after&apos;) raster.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="219"/>
        <source>The algorithm was not prepared.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="231"/>
        <source>Connecting to the GeoRSMLLM backend (a local one is started if needed)…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="236"/>
        <source>GeoRSMLLM backend: {reason}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="241"/>
        <source>Cancelled: the output holds what was done before the cancel.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="279"/>
        <source>Objects to detect (e.g. &apos;planes&apos;, &apos;storage tanks near the harbour&apos;)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="282"/>
        <source>Finds the objects the instruction names and writes them as rotated boxes (polygons) in the raster&apos;s CRS, with their label and score.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="293"/>
        <source>What to segment (e.g. &apos;buildings north of the river&apos;)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="296"/>
        <source>Outlines the things the instruction names as polygons (the model points at them, SAM2 draws the masks).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="307"/>
        <source>Changes to find (e.g. &apos;new buildings&apos;)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="310"/>
        <source>&apos;After&apos; raster layer</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="313"/>
        <source>Compares the raster (before) with the &apos;after&apos; raster and writes the changed areas as polygons.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="321"/>
        <source>Describe image</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="324"/>
        <source>Writes a description of the image (the ANSWER output), and the described area as a polygon.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="341"/>
        <source>The features to describe are missing.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="350"/>
        <source>Describes each feature&apos;s area of the raster; the answers are in the result layer&apos;s attributes and the ANSWER output.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="358"/>
        <source>Ask a question</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="361"/>
        <source>Question about the image</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="364"/>
        <source>Answers a question about the image (the ANSWER output).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="372"/>
        <source>Classify scene</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="375"/>
        <source>Candidate classes, comma separated (empty: the model&apos;s own words)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="384"/>
        <source>Classifies each tile of the raster; the class is the label of the tile polygons.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="393"/>
        <source>Geolocate image</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="396"/>
        <source>Asks the model where the image was taken and writes its guess as a point.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/runs.py" line="107"/>
        <source>cancelled</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/runs.py" line="110"/>
        <source>GeoRSMLLM run failed: {reason}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/runs.py" line="113"/>
        <source>failed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/runs.py" line="124"/>
        <source>nothing found</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/runs.py" line="126"/>
        <source>cancelled: {summary}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/runs.py" line="127"/>
        <source>{title}: {summary}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/logic/results.py" line="38"/>
        <source>Instruction: {text}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/logic/results.py" line="41"/>
        <source>Model: {model} [{engine}, {device}]</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/logic/results.py" line="44"/>
        <source>Dialect: {dialect}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/logic/results.py" line="45"/>
        <source>Raster: {name}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/logic/results.py" line="46"/>
        <source>Tiles: {done}/{total}; tile size {size}, overlap {overlap}, GSD {gsd}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/logic/results.py" line="49"/>
        <source>Time: {seconds} s</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/logic/results.py" line="50"/>
        <source>Run id: {run_id}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/dock.py" line="281"/>
        <source>Backend: starting…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/backend_env_dialog.py" line="53"/>
        <source>GeoRSMLLM: set up the backend</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/backend_env_dialog.py" line="61"/>
        <source>The backend runs in its own Python environment (not QGIS&apos;s Python): PyTorch, transformers and the server are installed there. A failed or cancelled set-up resumes where it stopped.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/backend_env_dialog.py" line="70"/>
        <source>Environment folder</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/backend_env_dialog.py" line="75"/>
        <source>PyTorch device</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/backend_env_dialog.py" line="77"/>
        <source>Press Set up to see the plan before anything is installed.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/backend_env_dialog.py" line="95"/>
        <source>Set up</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/models_dialog.py" line="136"/>
        <source>Check</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/backend_env_dialog.py" line="97"/>
        <source>Repair</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/models_dialog.py" line="139"/>
        <source>Close</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/backend_env_dialog.py" line="120"/>
        <source>Set up the backend</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/backend_env_dialog.py" line="120"/>
        <source>Install now?</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/models_dialog.py" line="237"/>
        <source>Cancelling…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/backend_env_dialog.py" line="166"/>
        <source>Cancelled. Set up again to resume: finished steps are skipped.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/models_dialog.py" line="261"/>
        <source>Failed: {error}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/backend_env_dialog.py" line="170"/>
        <source>Fix the cause and press Set up again: finished steps are skipped.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/backend_env_dialog.py" line="182"/>
        <source>Nothing installed.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/backend_env_dialog.py" line="186"/>
        <source>The plugin now runs the backend with {python}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/backend_env_dialog.py" line="191"/>
        <source>The environment is complete.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/backend_env_dialog.py" line="191"/>
        <source>{count} problem(s) found: press Repair.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/backend_tools.py" line="27"/>
        <source>GeoRSMLLM: no backend yet</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/backend_tools.py" line="27"/>
        <source>GeoRSMLLM needs a backend to run models, and none is configured ({reason}).

Set up the backend&apos;s own Python environment now? You can also do it later from the plugin menu, or enter a server URL in the settings.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/options.py" line="92"/>
        <source>Set up backend…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/options.py" line="92"/>
        <source>Models…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/models_dialog.py" line="76"/>
        <source>GeoRSMLLM: models</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/models_dialog.py" line="89"/>
        <source>Model cache</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/models_dialog.py" line="91"/>
        <source>Model hub</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/models_dialog.py" line="93"/>
        <source>Sizes and memory are approximate. Check each licence on the model&apos;s page before use.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/models_dialog.py" line="135"/>
        <source>Download</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/models_dialog.py" line="137"/>
        <source>Use this model</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/models_dialog.py" line="198"/>
        <source>your server</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/models_dialog.py" line="198"/>
        <source>your folder</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/models_dialog.py" line="200"/>
        <source>downloaded</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/models_dialog.py" line="200"/>
        <source>not downloaded</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/models_dialog.py" line="211"/>
        <source>Downloading {model}…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/models_dialog.py" line="221"/>
        <source>Loading {model} once with {python}…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/models_dialog.py" line="252"/>
        <source>Downloaded to {path}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/models_dialog.py" line="256"/>
        <source>The model loads: {message}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/models_dialog.py" line="258"/>
        <source>Cancelled. Partial files are kept: Download again continues them.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/models_dialog.py" line="259"/>
        <source>Check cancelled.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/models_dialog.py" line="271"/>
        <source>Model folder (transformers checkpoint)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/models_dialog.py" line="274"/>
        <source>Model server</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/models_dialog.py" line="274"/>
        <source>OpenAI-compatible model server URL (e.g. http://localhost:8000/v1):</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/models_dialog.py" line="290"/>
        <source>Download {model} first: the segmenter needs its checkpoint file.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/models_dialog.py" line="299"/>
        <source>The plugin now uses {model} ({location}).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/logic/env_tasks.py" line="71"/>
        <source>not run</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/logic/env_tasks.py" line="84"/>
        <source>GeoRSMLLM: planning the backend set-up</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/logic/env_tasks.py" line="84"/>
        <source>GeoRSMLLM: setting up the backend</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/logic/env_tasks.py" line="85"/>
        <source>GeoRSMLLM: checking the backend</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/logic/env_tasks.py" line="85"/>
        <source>GeoRSMLLM: repairing the backend</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/logic/env_tasks.py" line="113"/>
        <source>cannot write the environment: {error}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/logic/env_tasks.py" line="121"/>
        <source>No PyTorch in this environment&apos;s requirements: no device to verify.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/logic/env_tasks.py" line="123"/>
        <source>PyTorch does not import in the environment: {error}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/logic/env_tasks.py" line="126"/>
        <source>PyTorch {version} runs on the CPU ONLY: no GPU is used and models will run slowly.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/logic/env_tasks.py" line="129"/>
        <source>PyTorch {version} runs on {device}{gpu}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/logic/env_tasks.py" line="139"/>
        <source>GeoRSMLLM: looking for the backend</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/logic/env_tasks.py" line="148"/>
        <source>the Python interpreter {path} does not exist</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/logic/env_tasks.py" line="172"/>
        <source>GeoRSMLLM: looking for downloaded models</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/logic/env_tasks.py" line="199"/>
        <source>GeoRSMLLM: downloading {model}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/logic/env_tasks.py" line="214"/>
        <source>cannot write the model cache: {error}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/logic/env_tasks.py" line="238"/>
        <source>GeoRSMLLM: checking {model}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/logic/env_tasks.py" line="253"/>
        <source>check cancelled</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/logic/env_tasks.py" line="258"/>
        <source>no output</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/models_dialog.py" line="97"/>
        <source>Memory</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/models_dialog.py" line="97"/>
        <source>Licence</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/models_dialog.py" line="97"/>
        <source>Status</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/models_dialog.py" line="97"/>
        <source>Dialect / tasks</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/dock.py" line="322"/>
        <source>Backend: connected, but the model {model} could not be loaded: {error}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/dock.py" line="325"/>
        <source>Backend: connected — loading the model {model}…</source>
        <translation type="unfinished"></translation>
    </message>
</context>
</TS>
